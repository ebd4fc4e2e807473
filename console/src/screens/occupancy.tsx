import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type Role } from '../api.js';
import { coalesce } from '../coalesce.js';
import { live, useLive } from '../live.js';
import type { Occupancy } from '../threat.js';
import { changesOccupancy } from '../threatViews.js';
import { ago, clock, ErrorText, Section, StatusBadge } from '../ui.js';

/**
 * Who is inside each area, with the count against its maximum. Loaded once, then reloaded only
 * when an event says it changed (a grant at an area's door, the end of an evacuation): a busy
 * floor's burst of reads costs two requests, not one each.
 */
export function OccupancyScreen(_props: { role: Role }): JSX.Element {
  const [occupancy, setOccupancy] = useState<Occupancy | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [areaDoors, setAreaDoors] = useState<ReadonlySet<string> | null>(null);
  const state = useLive();
  const [nowMs, setNowMs] = useState(Date.now());
  const reload = useMemo(
    () =>
      coalesce(async () => {
        setOccupancy(await api<Occupancy>('/api/v1/occupancy'));
        setError(null);
      }, setError),
    [],
  );

  useEffect(() => {
    void reload();
    // The doors that lead into or out of an area: only their grants move anyone.
    api<{ entryDoors: string[]; exitDoors?: string[] }[]>('/api/v1/areas?limit=1000').then(
      (areas) => setAreaDoors(new Set(areas.flatMap((area) => [...area.entryDoors, ...(area.exitDoors ?? [])]))),
      () => setAreaDoors(null),
    );
    const timer = setInterval(() => setNowMs(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);

  useEffect(
    () =>
      live.subscribeEvents((event) => {
        if (changesOccupancy(event, areaDoors)) void reload();
      }),
    [areaDoors],
  );

  const doorName = (id: string | null): string => (id === null ? '—' : (state.doors.find((door) => door.id === id)?.name ?? id));
  return (
    <div class="screen">
      <h1>Occupancy</h1>
      <ErrorText error={error} />
      {occupancy === null ? (
        <p class="muted">Loading…</p>
      ) : occupancy.areas.length === 0 ? (
        <Section title="No areas">
          <p class="muted">The site data defines no areas with entry and exit doors, so nobody is counted (docs/threat-management.md).</p>
        </Section>
      ) : (
        <>
          <p data-testid="occupancy-total">
            <strong>{occupancy.total}</strong> {occupancy.total === 1 ? 'person' : 'people'} inside
          </p>
          <div class="grid-2">
            {occupancy.areas.map((area) => (
              <Section key={area.area} title={area.name} id={`area-${area.area}`}>
                <p data-testid={`count-${area.area}`}>
                  <StatusBadge value={area.max === null ? `${area.count} inside` : `${area.count} of ${area.max}`} tone={area.max !== null && area.count >= area.max ? 'bad' : 'neutral'} />
                  {area.max !== null && area.count >= area.max ? <span> full: its entry doors refuse</span> : null}
                </p>
                {area.people.length === 0 ? (
                  <p class="muted">Nobody inside.</p>
                ) : (
                  <div class="table-wrap">
                    <table aria-label={`Inside ${area.name}`}>
                      <thead>
                        <tr>
                          <th scope="col">Name</th>
                          <th scope="col">Since</th>
                          <th scope="col">Last door</th>
                        </tr>
                      </thead>
                      <tbody>
                        {area.people.map((person) => (
                          <tr key={person.cardholder} data-cardholder={person.cardholder}>
                            <td>{person.name}</td>
                            <td>
                              <time dateTime={person.enteredAt}>{clock(person.enteredAt)}</time> <span class="muted">({ago(person.enteredAt, nowMs)})</span>
                            </td>
                            <td>
                              {doorName(person.lastSeenDoor)} <span class="muted">{clock(person.lastSeenAt)}</span>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </Section>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
