import { DRIVER_TRANSPORTS, type DeviceDriver } from '../config/siteSchema.js';
import { pinDrivers, productCodecs, productTopic, streamCodecs, type ProductCodec, type StreamCodec, type StreamDecoder } from '../drivers/index.js';
import type { DecodeResult, DeviceCommand, DeviceSignal } from '../drivers/types.js';
import { relayAction } from '../drivers/gpioRelay.js';
import crypto from 'node:crypto';
import { OsdpAcu, type OsdpSecureOptions } from '../drivers/osdp/acu.js';
import { alarmSignal, switchSignal } from '../drivers/gpioSwitch.js';
import type { LoopState } from '../drivers/products.js';
import { WIEGAND_FRAME_GAP_MS, WiegandFramer } from '../drivers/wiegand.js';
import { GuardpostError } from '../errors.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { DeviceRecord } from '../store/index.js';
import type { GpioBackend, GpioInputPin, GpioOutputPin, Level } from '../transports/gpio.js';
import type { MqttTransport } from '../transports/mqtt.js';
import { SerialLink, type SerialBusOptions } from '../transports/serial.js';
import type { SiteService } from './siteService.js';

/** What a device on a serial bus or GPIO lines tells the site runtime. */
export type DeviceReport =
  | { readonly kind: 'signal'; readonly signal: DeviceSignal }
  | { readonly kind: 'bad_input'; readonly code: string; readonly message: string; readonly bytes: number }
  | { readonly kind: 'link'; readonly state: 'online' | 'offline'; readonly detail: string }
  /** A condition that needs a technician (power failure at a reader); `condition` null = cleared. */
  | { readonly kind: 'trouble'; readonly condition: string | null; readonly tamper?: boolean };

/** A reader repeats the same card while it is held in the field; one badge is one read. */
export const REPEAT_READ_SUPPRESS_MS = 1_000;
export const DEFAULT_DEBOUNCE_MS = 20;
/** Least time one OSDP poll round takes on an idle bus (every reader still polled within it). */
export const OSDP_POLL_CYCLE_MS = 50;

export interface DeviceBindingsDeps {
  /** The devices of the site as the runtime's index has them at start. */
  readonly devices: () => Iterable<DeviceRecord>;
  readonly buses: readonly SerialBusOptions[];
  /** Opened only when some device uses GPIO, so a gateway without GPIO devices never touches sysfs. */
  readonly gpio: () => Promise<GpioBackend>;
  readonly report: (device: DeviceRecord, report: DeviceReport) => void;
  /** For products on their own MQTT topics (absent in tests that bind no such device). */
  readonly mqtt?: MqttTransport;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * An OSDP reader in install mode took its own key and reconnected on it: persist install mode
   * off (see `endOsdpInstallMode`). Runs synchronously, before the bindings compare wiring again.
   */
  readonly osdpKeyInstalled?: (device: DeviceRecord, alreadyHeld: boolean) => void;
  /** Opens a reader's stored (sealed) OSDP key; without it only a key in clear can be used. */
  readonly openOsdpKey?: (deviceId: string, stored: string) => Buffer;
}

/** What `endOsdpInstallMode` needs: the one path for site changes, and the journal. */
export interface OsdpInstallDeps {
  readonly site: Pick<SiteService, 'get' | 'put'>;
  readonly journal: Pick<Journal, 'append'>;
}

/**
 * Turns install mode off for a reader that now holds its own key: written through the site
 * writers (validated, audited with the gateway as actor, in one transaction) and journalled as
 * `device.osdp_key_set`. From then on a reader offering SCBK-D is refused as tamper [OSDP-SC].
 */
export function endOsdpInstallMode(deps: OsdpInstallDeps, deviceId: string, alreadyHeld = false): void {
  const current = deps.site.get('devices', deviceId);
  deps.site.put('devices', deviceId, { ...current, osdpInstall: false }, { actor: 'gateway', source: 'osdp-install' });
  // `alreadyHeld`: the reader answered to its own key at once, so no KEYSET was needed.
  deps.journal.append({ type: 'device.osdp_key_set', device: deviceId, data: { device: deviceId, installMode: false, ...(alreadyHeld ? { alreadyHeld } : {}) } });
}

interface SerialBinding {
  readonly link: SerialLink;
  readonly device: DeviceRecord;
  readonly codec: StreamCodec;
  readonly decoder: StreamDecoder;
}

interface RelayBinding {
  readonly pin: GpioOutputPin;
  readonly activeLevel: Level;
  pulseTimer: NodeJS.Timeout | undefined;
}

/**
 * Connects devices that are not on guardpost's own MQTT topics to their transports and codecs:
 * serial readers on their buses, buttons, contacts, Wiegand readers and relays on GPIO lines.
 * Signals go to the runtime as reports; commands for these devices come back through command().
 */
export class DeviceBindings {
  private readonly serial = new Map<string, SerialBinding>();
  private readonly relays = new Map<string, RelayBinding>();
  private readonly inputs: GpioInputPin[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lastCard = new Map<string, { card: string; atMs: number }>();
  /** Last state of each supervised (end-of-line) loop, so periodic reports pass on changes only. */
  private readonly loopStates = new Map<string, LoopState>();
  /** OSDP readers by device id; several share one bus and its poll loop. */
  private readonly osdp = new Map<string, { acu: OsdpAcu; address: number }>();
  private readonly osdpLinks: { link: SerialLink }[] = [];
  private readonly products = new Map<string, ProductCodec>();

  /** Bumped on every (re)start: subscriptions of an earlier binding ignore what they hear. */
  private generation = 0;
  /** What the current bindings were made from; a site change that keeps it leaves them alone. */
  private signature = '';
  private resync: Promise<void> = Promise.resolve();

  constructor(private readonly deps: DeviceBindingsDeps) {}

  /**
   * Site data changed (API, import): when a routed device was added, removed or rewired, the
   * bindings are remade. Serialised, so two quick changes cannot interleave their restarts.
   */
  siteChanged(): void {
    this.resync = this.resync
      .then(async () => {
        if (this.signatureOf() === this.signature) return;
        this.deps.logger.info('device wiring changed: rebinding serial, GPIO and product devices');
        await this.stop();
        await this.start();
      })
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'rebinding devices after a site change failed'));
  }

  private routedDevices(): DeviceRecord[] {
    return [...this.deps.devices()].filter((device) => this.routes(device));
  }

  private signatureOf(): string {
    return JSON.stringify(this.routedDevices().map((device) => [device.id, device.kind, device.driver, device.binding ?? null]));
  }

  /** True when this device's commands go through a binding here rather than MQTT. */
  routes(device: DeviceRecord): boolean {
    const transport = DRIVER_TRANSPORTS[device.driver as DeviceDriver] as string | undefined;
    return transport !== undefined && transport !== 'mqtt';
  }

  async start(): Promise<void> {
    this.generation++;
    this.signature = this.signatureOf();
    const devices = this.routedDevices();
    const buses = new Map(this.deps.buses.map((bus) => [bus.id, bus]));
    const osdpBuses = new Map<string, { bus: SerialBusOptions; devices: DeviceRecord[] }>();
    for (const device of devices) {
      if (DRIVER_TRANSPORTS[device.driver as DeviceDriver] !== 'serial') continue;
      const busId = device.binding?.bus;
      const bus = busId === undefined ? undefined : buses.get(busId);
      if (bus === undefined) {
        throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${device.id}" uses serial bus "${busId ?? '(none)'}", which the config file's serial.buses does not define (defined: ${[...buses.keys()].join(', ') || 'none'})`);
      }
      if (device.driver === 'osdp') osdpBuses.set(bus.id, { bus, devices: [...(osdpBuses.get(bus.id)?.devices ?? []), device] });
      else this.bindSerial(device, bus);
    }
    for (const { bus, devices: readers } of osdpBuses.values()) this.bindOsdp(bus, readers);
    const gpioDevices = devices.filter((device) => DRIVER_TRANSPORTS[device.driver as DeviceDriver] === 'gpio');
    if (gpioDevices.length > 0) {
      const gpio = await this.deps.gpio();
      for (const device of gpioDevices) this.bindGpio(device, gpio);
    }
    for (const device of devices) {
      if (DRIVER_TRANSPORTS[device.driver as DeviceDriver] === 'mqtt-product') await this.bindProduct(device);
    }
    for (const { link } of [...this.serial.values(), ...this.osdpLinks]) link.start();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const relay of this.relays.values()) {
      clearTimeout(relay.pulseTimer);
      // Leave a strike locked on the way out, as it would be with the power off (fail-secure).
      await relay.pin.write(inactive(relay.activeLevel)).catch(() => undefined);
      relay.pin.close();
    }
    this.relays.clear();
    for (const pin of this.inputs.splice(0)) pin.close();
    for (const { acu } of this.osdp.values()) acu.stop('gateway stopping');
    await Promise.all([...this.serial.values(), ...this.osdpLinks].map(({ link }) => link.stop()));
    this.serial.clear();
    this.osdp.clear();
    this.osdpLinks.length = 0;
    this.products.clear();
    this.lastCard.clear();
    this.loopStates.clear();
  }

  /**
   * Sends a command through the device's own transport. `onSent` runs once the bytes are on the
   * wire (or the pin written); a command the device has no output for is a no-op, except a
   * strike command, which is an error: the door would silently stay shut.
   */
  command(device: DeviceRecord, command: DeviceCommand, onSent?: (error?: Error) => void): void {
    const serial = this.serial.get(device.id);
    if (serial !== undefined) {
      const bytes = serial.codec.encode(command);
      if (bytes === null) return this.unsupported(device, command, onSent);
      serial.link.write(bytes, onSent);
      return;
    }
    const product = this.products.get(device.id);
    if (product !== undefined) {
      const message = product.encode(command);
      if (message === null || this.deps.mqtt === undefined) return this.unsupported(device, command, onSent);
      // QoS 0 like every momentary command: a pulse delivered late would open the door for nobody.
      this.deps.mqtt.publish(productTopic(product, message.topicName, device.binding?.topic ?? ''), message.payload, { qos: 0 }, onSent);
      return;
    }
    const reader = this.osdp.get(device.id);
    if (reader !== undefined) {
      if (!reader.acu.command(reader.address, command, onSent)) this.unsupported(device, command, onSent);
      return;
    }
    const relay = this.relays.get(device.id);
    if (relay !== undefined) return this.relayCommand(device, relay, command, onSent);
    if (device.driver === 'gpio-input' || device.driver === 'gpio-wiegand') return this.unsupported(device, command, onSent);
    onSent?.(new GuardpostError('GP_ERR_TRANSPORT', `device "${device.id}" (${device.driver}) is not bound to a transport`));
  }

  private unsupported(device: DeviceRecord, command: DeviceCommand, onSent?: (error?: Error) => void): void {
    if (command.type === 'strike' || command.type === 'camera') {
      onSent?.(new GuardpostError('GP_ERR_TRANSPORT', `device "${device.id}" (${device.driver}) has no ${command.type} output`));
      return;
    }
    onSent?.(); // an LED or buzzer the reader does not have: nothing to send
  }

  private bindSerial(device: DeviceRecord, bus: SerialBusOptions): void {
    const codec = streamCodecs.get(device.driver);
    if (codec === undefined) throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${device.id}": driver "${device.driver}" has no serial codec`);
    const decoder = codec.createDecoder({ linePattern: device.binding?.linePattern });
    const logger = this.deps.logger.child({ bus: bus.id, device: device.id });
    const link = new SerialLink(
      bus,
      {
        onData: (bytes) => {
          for (const result of safeDecode(decoder, bytes)) this.deliver(device, result, bytes.byteLength);
        },
        onLink: (state, detail) => this.deps.report(device, { kind: 'link', state: state === 'up' ? 'online' : 'offline', detail }),
      },
      logger,
    );
    this.serial.set(device.id, { link, device, codec, decoder });
  }

  /** A product on its own MQTT topics: subscribe to what it publishes and decode it. */
  private async bindProduct(device: DeviceRecord): Promise<void> {
    const codec = productCodecs.get(device.driver);
    const mqtt = this.deps.mqtt;
    const deviceTopic = device.binding?.topic;
    if (codec === undefined || mqtt === undefined || deviceTopic === undefined) {
      throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${device.id}": driver "${device.driver}" needs MQTT and a topic`);
    }
    this.products.set(device.id, codec);
    const generation = this.generation;
    for (const topicName of codec.fromDevice) {
      const topic = productTopic(codec, topicName, deviceTopic);
      await mqtt.subscribe(topic, (received, payload) => {
        // The transport cannot unsubscribe: a binding from before a rebind just stops listening.
        if (received !== topic || generation !== this.generation) return;
        const decoded = codec.decode(topicName, payload, device.kind);
        switch (decoded.kind) {
          case 'signal':
            return this.deliver(device, { ok: true, signal: decoded.signal }, payload.byteLength);
          case 'availability':
            return this.deps.report(device, { kind: 'link', state: decoded.state, detail: topic.slice(0, 200) });
          case 'bad':
            return this.deps.report(device, { kind: 'bad_input', code: decoded.error.code, message: `${topicName}: ${decoded.error.message}`, bytes: payload.byteLength });
          case 'loop':
            return this.loop(device, decoded.state);
          case 'none':
            return;
          default: {
            const unreachable: never = decoded;
            return unreachable;
          }
        }
      });
    }
  }

  /** One OSDP control panel per bus, polling every reader on it by address. */
  private bindOsdp(bus: SerialBusOptions, readers: readonly DeviceRecord[]): void {
    const byAddress = new Map(readers.map((reader) => [reader.binding?.address ?? -1, reader]));
    const logger = this.deps.logger.child({ bus: bus.id, protocol: 'osdp' });
    let link: SerialLink | undefined;
    const unusable: { reader: DeviceRecord; message: string }[] = [];
    const secure = new Map<number, OsdpSecureOptions>(
      [...byAddress].map(([address, reader]) => {
        const stored = reader.binding?.osdpKey;
        let scbk: Buffer | undefined;
        if (stored !== undefined) {
          try {
            scbk = this.deps.openOsdpKey !== undefined ? this.deps.openOsdpKey(reader.id, stored) : plainOsdpKey(reader.id, stored);
          } catch (error) {
            unusable.push({ reader, message: error instanceof Error ? error.message : String(error) });
          }
        }
        // A reader whose key cannot be opened is never talked to in clear nor with SCBK-D: it stays offline [OSDP-SC].
        if (stored !== undefined && scbk === undefined) return [address, { mode: 'enforce' as const, scbk: crypto.randomBytes(16) }] as const;
        return [address, { mode: reader.binding?.secureChannel ?? 'on', install: reader.binding?.osdpInstall === true, ...(scbk === undefined ? {} : { scbk }) }] as const;
      }),
    );
    for (const { reader, message } of unusable) {
      logger.error({ device: reader.id }, message);
      this.deps.report(reader, { kind: 'trouble', condition: 'osdp_key_unreadable' });
    }
    const acu = new OsdpAcu({
      addresses: [...byAddress.keys()],
      secure,
      write: (bytes, done) => link?.write(bytes, done),
      clock: this.deps.clock,
      pollCycleMs: OSDP_POLL_CYCLE_MS,
      events: {
        signal: (address, signal) => {
          const reader = byAddress.get(address);
          if (reader !== undefined) this.deliver(reader, { ok: true, signal }, 0);
        },
        badInput: (address, code, message, bytes) => {
          const reader = address === null ? undefined : byAddress.get(address);
          // Garbage nobody can be blamed for is charged to the bus's first reader, so it is still journalled.
          this.deps.report(reader ?? readers[0]!, { kind: 'bad_input', code, message: reader === undefined ? `bus ${bus.id}: ${message}` : message, bytes });
        },
        online: (address, identity) => {
          const reader = byAddress.get(address);
          if (reader === undefined) return;
          logger.info({ device: reader.id, address, identity }, 'OSDP reader online');
          this.deps.report(reader, { kind: 'link', state: 'online', detail: identity === null ? 'OSDP' : `OSDP vendor ${identity.vendor} model ${identity.model} firmware ${identity.firmware}` });
        },
        trouble: (address, condition) => {
          const reader = byAddress.get(address);
          if (reader !== undefined) this.deps.report(reader, { kind: 'trouble', condition });
        },
        keyInstalled: (address, alreadyHeld) => {
          const reader = byAddress.get(address);
          if (reader === undefined) return;
          logger.info({ device: reader.id, address, alreadyHeld }, 'OSDP install mode: the reader now holds its own Secure Channel key; install mode turned off');
          try {
            this.deps.osdpKeyInstalled?.(reader, alreadyHeld);
          } catch (error) {
            // The poll loop has already left install mode; only the stored flag could not be changed.
            logger.error({ err: error, device: reader.id }, 'OSDP install mode: could not save install mode off; set osdpInstall to false');
          }
          // Only the install flag changed, and the poll loop already knows: no rebinding for it.
          this.signature = this.signatureOf();
        },
        offline: (address, reason) => {
          const reader = byAddress.get(address);
          if (reader !== undefined) this.deps.report(reader, { kind: 'link', state: 'offline', detail: reason });
        },
      },
    });
    link = new SerialLink(
      bus,
      {
        onData: (bytes) => acu.receive(bytes),
        onLink: (state, detail) => (state === 'up' ? acu.start() : acu.stop(`serial bus ${detail}`)),
      },
      logger,
    );
    this.osdpLinks.push({ link });
    for (const [address, reader] of byAddress) this.osdp.set(reader.id, { acu, address });
  }

  /**
   * A supervised loop's state [SAFE-EOL]: cut or short is a wiring fault, journalled as trouble
   * (tamper-class: someone may be defeating the sensor), never taken as a press or an opening;
   * normal or active clears it and gives the sensor's state. Sensors report periodically, so a
   * state is passed on when it changes; a repeat only tells supervision the device is alive.
   */
  private loop(device: DeviceRecord, state: LoopState): void {
    const previous = this.loopStates.get(device.id);
    this.loopStates.set(device.id, state);
    if (previous === state) return this.deps.report(device, { kind: 'signal', signal: { type: 'heartbeat' } });
    if (state === 'cut' || state === 'short') return this.deps.report(device, { kind: 'trouble', condition: state === 'cut' ? 'line_cut' : 'line_short', tamper: true });
    this.deps.report(device, { kind: 'trouble', condition: null });
    this.deps.report(device, { kind: 'signal', signal: alarmSignal(device.kind, state === 'active') });
  }

  private deliver(device: DeviceRecord, result: DecodeResult, bytes: number): void {
    if (!result.ok) {
      this.deps.report(device, { kind: 'bad_input', code: result.error.code, message: result.error.message, bytes });
      return;
    }
    const { signal } = result;
    if (signal.type === 'card') {
      const now = this.deps.clock();
      const last = this.lastCard.get(device.id);
      this.lastCard.set(device.id, { card: signal.card, atMs: now });
      if (last !== undefined && last.card === signal.card && now - last.atMs < REPEAT_READ_SUPPRESS_MS) return;
    }
    this.deps.report(device, { kind: 'signal', signal });
  }

  private bindGpio(device: DeviceRecord, gpio: GpioBackend): void {
    const binding = device.binding ?? {};
    const driver = pinDrivers.get(device.driver)?.id;
    const openFailed = (error: unknown): never => {
      const detail = error instanceof Error ? error.message : String(error);
      throw new GuardpostError('GP_ERR_TRANSPORT', `device "${device.id}" (${device.driver}): ${detail}`);
    };
    switch (driver) {
      case 'gpio-input': {
        const activeLevel: Level = binding.activeLow === true ? 0 : 1;
        let pin: GpioInputPin;
        try {
          pin = gpio.input(binding.pin ?? -1);
        } catch (error) {
          return openFailed(error);
        }
        this.inputs.push(pin);
        this.watchSwitch(device, pin, activeLevel, binding.debounceMs ?? DEFAULT_DEBOUNCE_MS);
        if (binding.tamperPin !== undefined) {
          let tamperPin: GpioInputPin;
          try {
            tamperPin = gpio.input(binding.tamperPin);
          } catch (error) {
            return openFailed(error);
          }
          this.inputs.push(tamperPin);
          this.watchTamperLoop(device, tamperPin, activeLevel, binding.debounceMs ?? DEFAULT_DEBOUNCE_MS);
        }
        return;
      }
      case 'gpio-relay': {
        const activeLevel: Level = binding.activeLow === true ? 0 : 1;
        try {
          this.relays.set(device.id, { pin: gpio.output(binding.pin ?? -1, inactive(activeLevel)), activeLevel, pulseTimer: undefined });
        } catch (error) {
          return openFailed(error);
        }
        this.deps.report(device, { kind: 'link', state: 'online', detail: `GPIO ${binding.pin}` });
        return;
      }
      case 'gpio-wiegand': {
        // Wiegand data lines idle high and pulse low unless the wiring says otherwise.
        const activeLevel: Level = binding.activeLow === false ? 1 : 0;
        const pins = binding.wiegandPins;
        if (pins === undefined) return openFailed(new Error('wiegandPins missing'));
        this.watchWiegand(device, gpio, pins.data0, pins.data1, activeLevel, openFailed);
        return;
      }
      default:
        throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${device.id}": driver "${device.driver}" is not a GPIO driver`);
    }
  }

  /** A debounced switch: a new level counts once it has held for debounceMs. */
  private watchSwitch(device: DeviceRecord, pin: GpioInputPin, activeLevel: Level, debounceMs: number): void {
    const toSignal = (active: boolean): DeviceSignal => switchSignal(device.kind, active);
    const stable = pin.read();
    this.deps.report(device, { kind: 'link', state: 'online', detail: 'GPIO input' });
    // A contact's state matters at once (a fire relay or tamper switch open at start is an alarm); a button held down at start (a panic held through a reboot) too.
    if (device.kind === 'door-contact' || device.kind === 'fire-alarm' || device.kind === 'tamper-switch' || stable === activeLevel) this.deps.report(device, { kind: 'signal', signal: toSignal(stable === activeLevel) });
    this.watchDebounced(pin, stable, debounceMs, (level) => this.deps.report(device, { kind: 'signal', signal: toSignal(level === activeLevel) }));
  }

  /**
   * A supervised GPIO input's tamper loop [SAFE-EOL]: closed (made, same polarity as the alarm
   * contact) is normal; open for debounceMs means the cable was cut or the sensor opened, which
   * is trouble (line_cut), cleared when the loop closes again. Checked at start too.
   */
  private watchTamperLoop(device: DeviceRecord, pin: GpioInputPin, activeLevel: Level, debounceMs: number): void {
    const report = (level: Level): void => this.deps.report(device, { kind: 'trouble', condition: level === activeLevel ? null : 'line_cut', tamper: true });
    const stable = pin.read();
    if (stable !== activeLevel) report(stable);
    this.watchDebounced(pin, stable, debounceMs, report);
  }

  /** Calls `onChange` once a pin's new level has held for debounceMs; a bounce that comes back is no change. */
  private watchDebounced(pin: GpioInputPin, initial: Level, debounceMs: number, onChange: (level: Level) => void): void {
    let stable = initial;
    let timer: NodeJS.Timeout | undefined;
    pin.watch(() => {
      if (timer !== undefined) {
        clearTimeout(timer);
        this.timers.delete(timer);
      }
      timer = setTimeout(() => {
        this.timers.delete(timer!);
        timer = undefined;
        const level = pin.read();
        if (level === stable) return;
        stable = level;
        onChange(level);
      }, debounceMs);
      this.timers.add(timer);
    });
  }

  private watchWiegand(device: DeviceRecord, gpio: GpioBackend, data0: number, data1: number, activeLevel: Level, openFailed: (error: unknown) => never): void {
    const framer = new WiegandFramer();
    let gapTimer: NodeJS.Timeout | undefined;
    const pulse = (bit: 0 | 1) => (level: Level): void => {
      if (level !== activeLevel) return;
      framer.pulse(bit);
      if (gapTimer !== undefined) {
        clearTimeout(gapTimer);
        this.timers.delete(gapTimer);
      }
      gapTimer = setTimeout(() => {
        this.timers.delete(gapTimer!);
        gapTimer = undefined;
        const result = framer.end();
        if (result !== undefined) this.deliver(device, result, 0);
      }, WIEGAND_FRAME_GAP_MS);
      this.timers.add(gapTimer);
    };
    try {
      const pin0 = gpio.input(data0);
      this.inputs.push(pin0);
      const pin1 = gpio.input(data1);
      this.inputs.push(pin1);
      pin0.watch(pulse(0));
      pin1.watch(pulse(1));
    } catch (error) {
      openFailed(error);
    }
    this.deps.report(device, { kind: 'link', state: 'online', detail: 'GPIO Wiegand' });
  }

  private relayCommand(device: DeviceRecord, relay: RelayBinding, command: DeviceCommand, onSent?: (error?: Error) => void): void {
    const action = relayAction(device.kind, command);
    if (action.set === 'none') return this.unsupported(device, command, onSent);
    clearTimeout(relay.pulseTimer);
    relay.pulseTimer = undefined;
    if (action.set === 'active' && action.forMs !== undefined) {
      // A second pulse while the first runs extends it rather than cutting it short.
      relay.pulseTimer = setTimeout(() => {
        relay.pulseTimer = undefined;
        relay.pin.write(inactive(relay.activeLevel)).catch((error: unknown) => this.deps.logger.error({ err: error, device: device.id }, 'releasing a relay failed'));
      }, action.forMs);
    }
    relay.pin.write(action.set === 'active' ? relay.activeLevel : inactive(relay.activeLevel)).then(
      () => onSent?.(),
      (error: unknown) => onSent?.(error instanceof Error ? error : new Error(String(error))),
    );
  }
}

function inactive(activeLevel: Level): Level {
  return activeLevel === 1 ? 0 : 1;
}

/** A decoder is meant never to throw; if one does, the bytes are bad input and the port lives on. */
function safeDecode(decoder: StreamDecoder, bytes: Uint8Array): DecodeResult[] {
  try {
    return decoder.push(bytes);
  } catch (error) {
    return [{ ok: false, error: { code: 'bad_frame', message: `decoder failed: ${error instanceof Error ? error.message : String(error)}` } }];
  }
}

/** Without a key vault (tests binding devices directly) only a key given in clear can be used. */
function plainOsdpKey(deviceId: string, stored: string): Buffer {
  if (/^[0-9a-fA-F]{32}$/.test(stored)) return Buffer.from(stored, 'hex');
  throw new GuardpostError('GP_ERR_STORE', `device "${deviceId}": its osdpKey is sealed and no key vault was given to open it`);
}
