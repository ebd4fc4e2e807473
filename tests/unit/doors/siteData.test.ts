import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseSiteData } from '../../../src/config/parse.js';

const demo = fs.readFileSync(path.resolve(import.meta.dirname, '../../../config/demo-site.yaml'), 'utf8');
type Raw = any;

function problemsOf(change: (site: Raw) => void): string[] {
  const site = YAML.parse(demo) as Raw;
  change(site);
  const result = parseSiteData(site);
  return result.ok ? [] : result.problems;
}

describe('door hardware, zones, cameras, panic buttons and threat levels in site data', () => {
  it('accepts the demo site', () => {
    expect(problemsOf(() => undefined)).toEqual([]);
  });

  it('names a door contact that is not a door-contact device', () => {
    expect(problemsOf((site) => (site.doors[0].contact = 'main-entrance-exit'))).toEqual(['doors[0].contact: device "main-entrance-exit" is an exit-button, expected a door-contact']);
  });

  it('refuses a pre-alarm that would sound no earlier than the held alarm', () => {
    expect(problemsOf((site) => (site.doors[0].preAlarmMs = 30_000))).toEqual(['doors[0].preAlarmMs: preAlarmMs must be shorter than heldOpenMs']);
  });

  it('says what a camera is missing to be triggered', () => {
    expect(problemsOf((site) => site.cameras.push({ id: 'nvr', kind: 'frigate', doors: ['main-entrance'] }))).toEqual(['cameras[1].url: a frigate camera needs a url']);
    expect(problemsOf((site) => delete site.cameras[0].device)).toEqual(['cameras[0].device: an mqtt camera needs the device its trigger command goes to']);
    expect(problemsOf((site) => (site.cameras[0].zones = ['roof']))).toEqual(['cameras[0].zones[0]: unknown zone "roof"']);
  });

  it('checks threat buttons: a threat-button device, bound to one level only [SAFE-THREAT]', () => {
    const withKey = (site: Raw): void => {
      site.devices.push({ id: 'threat-key', kind: 'threat-button' });
    };
    expect(problemsOf((site) => (withKey(site), (site.threatLevels[0].buttons = ['threat-key'])))).toEqual([]);
    expect(problemsOf((site) => (site.threatLevels[0].buttons = ['reception-panic']))).toEqual(['threatLevels[0].buttons[0]: device "reception-panic" is a panic-button, expected a threat-button']);
    expect(problemsOf((site) => (withKey(site), (site.threatLevels[0].buttons = ['threat-key']), (site.threatLevels[1].buttons = ['threat-key'])))).toEqual([
      'threatLevels[1].buttons[0]: threat button "threat-key" already raises the level "elevated"',
    ]);
  });

  it('checks panic buttons against devices, zones and threat levels', () => {
    expect(problemsOf((site) => site.panicButtons.push({ device: 'main-entrance-reader' }))).toEqual(['panicButtons[1].device: device "main-entrance-reader" is a reader, expected a panic-button']);
    expect(problemsOf((site) => (site.panicButtons[0] = { device: 'reception-panic', lockdown: true }))).toEqual(['panicButtons[0].lockdown: lockdown needs the zone to lock down']);
    expect(problemsOf((site) => (site.panicButtons[0].threatLevel = 'severe'))).toEqual(['panicButtons[0].threatLevel: unknown threat level "severe"']);
  });

  it('keeps "normal" built in and checks the zones a threat level locks down', () => {
    expect(problemsOf((site) => site.threatLevels.push({ id: 'normal', name: 'Normal' }))).toEqual(['threatLevels[2].id: "normal" is built in: list only the raised levels']);
    expect(problemsOf((site) => (site.threatLevels[0].lockdownZones = ['attic']))).toEqual(['threatLevels[0].lockdownZones[0]: unknown zone "attic"']);
  });

  it('refuses an escalation step sooner than a second', () => {
    expect(problemsOf((site) => (site.alarms.escalation[0].afterMs = 10))).toEqual(['alarms.escalation[0].afterMs: expected integer ≥ 1000, got 10']);
  });
});
