import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, apiList, isMissingRoute, roleAllows, type Role } from '../api.js';
import { ErrorText, Section, Select } from '../ui.js';
import { DAY_NAMES, isoDate, mondayOf, weekBlocks, WEEKDAYS, type HolidayCalendar, type Schedule } from '../week.js';

/** Schedules and holidays: one week at a time, holidays marked. */
export function SchedulesScreen(props: { role: Role }): JSX.Element {
  const [schedules, setSchedules] = useState<readonly Schedule[] | null>(null);
  const [calendars, setCalendars] = useState<readonly HolidayCalendar[]>([]);
  const [chosen, setChosen] = useState('');
  const [monday, setMonday] = useState(() => mondayOf(new Date()));
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);

  useEffect(() => {
    const load = async (): Promise<void> => {
      try {
        const [list, holidays] = await Promise.all([apiList<Schedule>('/api/v1/schedules'), apiList<HolidayCalendar>('/api/v1/holidays')]);
        setSchedules(list);
        setCalendars(holidays);
      } catch (caught) {
        // Before the schedules routes exist, an admin can still read them from the site export.
        if (!isMissingRoute(caught)) throw caught;
        if (!roleAllows(props.role, 'admin')) {
          setMissing(true);
          return;
        }
        const site = await api<{ schedules: Schedule[]; holidays: HolidayCalendar[] }>('/api/v1/site/export');
        setSchedules(site.schedules);
        setCalendars(site.holidays);
      }
    };
    load().catch(setError);
  }, [props.role]);

  const schedule = schedules?.find((candidate) => candidate.id === chosen) ?? schedules?.[0];
  const days = WEEKDAYS.map((_, index) => {
    const date = new Date(monday);
    date.setDate(monday.getDate() + index);
    return date;
  });
  const calendarsOf = schedule === undefined ? [] : calendars.filter((calendar) => schedule.holidays.includes(calendar.id));
  const holidayNames = days.map((date) => calendarsOf.filter((calendar) => calendar.dates.includes(isoDate(date))).map((calendar) => calendar.name));
  const holidayDays = new Set(holidayNames.flatMap((names, index) => (names.length > 0 ? [index] : [])));
  const blocks = schedule === undefined ? [] : weekBlocks(schedule, holidayDays);
  const shiftWeek = (weeks: number): void => {
    const next = new Date(monday);
    next.setDate(monday.getDate() + weeks * 7);
    setMonday(next);
  };

  return (
    <div class="screen">
      <h1>Schedules and holidays</h1>
      <ErrorText error={error} />
      {missing ? <p>This gateway's API does not list schedules yet; an admin sees them from the site export.</p> : null}
      {schedules !== null && schedules.length === 0 ? <p>No schedules are defined.</p> : null}
      {schedule !== undefined ? (
        <Section
          title={`Week of ${monday.toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' })}`}
          actions={
            <div class="button-row">
              <button type="button" onClick={() => shiftWeek(-1)}>
                Previous week
              </button>
              <button type="button" onClick={() => setMonday(mondayOf(new Date()))}>
                This week
              </button>
              <button type="button" onClick={() => shiftWeek(1)}>
                Next week
              </button>
            </div>
          }
        >
          <Select label="Schedule" value={schedule.id} options={schedules!.map((candidate) => [candidate.id, candidate.name] as const)} onChange={setChosen} />
          <p class="muted">Times are the site's wall-clock time. Green: open; amber: a holiday's own hours.</p>
          <div class="week" role="table" aria-label={`${schedule.name}, week of ${isoDate(monday)}`} data-testid="week">
            <div role="row" class="week-row">
              <span role="columnheader" class="day-head">
                <span class="visually-hidden">Hour</span>
              </span>
              {days.map((date, index) => (
                <span role="columnheader" key={index} class={`day-head${holidayDays.has(index) ? ' holiday' : ''}`}>
                  {DAY_NAMES[WEEKDAYS[index]!]} {date.getDate()}
                  {holidayNames[index]!.length > 0 ? <small> · {holidayNames[index]!.join(', ')}</small> : null}
                </span>
              ))}
            </div>
            <div role="row" class="week-row">
              <span role="rowheader" class="hours" aria-hidden="true">
                {[0, 6, 12, 18, 24].map((hour) => (
                  <span key={hour} style={{ top: `${(hour / 24) * 100}%` }}>
                    {String(hour).padStart(2, '0')}:00
                  </span>
                ))}
              </span>
              {days.map((_, index) => {
                const open = blocks.filter((block) => block.day === index);
                return (
                  <span role="cell" key={index} class="day" data-day={WEEKDAYS[index]}>
                    {open.length === 0 ? <span class="visually-hidden">closed all day</span> : null}
                    {open.map((block) => (
                      <span
                        key={`${block.fromMin}`}
                        class={`block${block.holiday ? ' holiday-block' : ''}`}
                        style={{ top: `${(block.fromMin / 1440) * 100}%`, height: `${((block.toMin - block.fromMin) / 1440) * 100}%` }}
                      >
                        {clockText(block.fromMin)}–{clockText(block.toMin)}
                      </span>
                    ))}
                  </span>
                );
              })}
            </div>
          </div>
        </Section>
      ) : null}
      <Section title="Holiday calendars">
        {calendars.length === 0 ? (
          <p class="muted">No holiday calendars.</p>
        ) : (
          <ul class="plain">
            {calendars.map((calendar) => {
              const today = isoDate(new Date());
              const upcoming = calendar.dates.filter((date) => date >= today).slice(0, 6);
              return (
                <li key={calendar.id}>
                  <strong>{calendar.name}</strong> · {calendar.dates.length} date(s)
                  {upcoming.length > 0 ? ` · next: ${upcoming.join(', ')}` : ' · none to come'}
                </li>
              );
            })}
          </ul>
        )}
      </Section>
    </div>
  );
}

const clockText = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
