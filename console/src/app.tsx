import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, loadSession, onSessionChange, roleAllows, setSession, type Principal, type Role, type Session } from './api.js';
import { live } from './live.js';
import { navigate, onLinkClick, usePath } from './router.js';
import { AlarmTakeover } from './screens/alarm.js';
import { DoorsScreen } from './screens/doors.js';
import { LiveScreen } from './screens/live.js';
import { HistoryScreen } from './screens/history.js';
import { PeopleScreen } from './screens/people.js';
import { SchedulesScreen } from './screens/schedules.js';
import { SettingsScreen } from './screens/settings.js';
import { SignIn } from './screens/signIn.js';
import { AlarmReportScreen } from './screens/report.js';
import { EvacuationScreen, EvacuationTakeover } from './screens/evacuation.js';
import { OccupancyScreen } from './screens/occupancy.js';
import { ResponseTimesScreen } from './screens/responseTimes.js';
import { VisitorsScreen } from './screens/visitors.js';
import { evacuation } from './threat.js';

interface Screen {
  readonly path: string;
  readonly title: string;
  /** The least role that may open the screen (what it reads from the API needs it). */
  readonly role: Role;
  readonly render: (role: Role, path: string) => JSX.Element;
}

const screens: readonly Screen[] = [
  { path: '/live', title: 'Live', role: 'viewer', render: (role) => <LiveScreen role={role} /> },
  { path: '/doors', title: 'Doors', role: 'viewer', render: (role) => <DoorsScreen role={role} /> },
  { path: '/people', title: 'People', role: 'security', render: (role) => <PeopleScreen role={role} /> },
  { path: '/occupancy', title: 'Occupancy', role: 'security', render: (role) => <OccupancyScreen role={role} /> },
  // Every role hears of an evacuation; who is missing, and marking people safe, is for security.
  { path: '/evacuation', title: 'Evacuation', role: 'viewer', render: (role, path) => <EvacuationScreen role={role} evacuationId={/^\/evacuation\/([0-9a-f-]{36})$/.exec(path)?.[1]} /> },
  { path: '/visitors', title: 'Visitors', role: 'security', render: (role) => <VisitorsScreen role={role} /> },
  { path: '/response-times', title: 'Response times', role: 'security', render: (role) => <ResponseTimesScreen role={role} /> },
  { path: '/schedules', title: 'Schedules', role: 'viewer', render: (role) => <SchedulesScreen role={role} /> },
  { path: '/history', title: 'History', role: 'viewer', render: (role) => <HistoryScreen role={role} /> },
  { path: '/settings', title: 'Settings', role: 'viewer', render: (role) => <SettingsScreen role={role} /> },
];

export function App(): JSX.Element {
  const [session, setCurrent] = useState<Session | null>(loadSession());
  useEffect(() => onSessionChange(setCurrent), []);
  if (session === null) return <SignIn />;
  return <SignedIn session={session} />;
}

function SignedIn(props: { session: Session }): JSX.Element {
  const path = usePath();
  const [me, setMe] = useState<Principal | null>(null);

  // The role comes from the gateway (auth/me), not from what the browser kept.
  useEffect(() => {
    let cancelled = false;
    api<Principal>('/api/v1/auth/me')
      .then((principal) => {
        if (!cancelled) setMe(principal);
      })
      .catch(() => undefined);
    void live.start();
    return () => {
      cancelled = true;
      live.stop();
    };
  }, [props.session.token]);

  const role = me?.role ?? props.session.role;
  // The evacuation under way: the list for security, the counts for everyone.
  useEffect(() => {
    evacuation.start(role);
    return () => evacuation.stop();
  }, [props.session.token, role]);
  const visible = screens.filter((screen) => roleAllows(role, screen.role));
  const reportMatch = /^\/alarms\/([a-z0-9-]+)\/report$/.exec(path);
  const screen = visible.find((candidate) => path === candidate.path || path.startsWith(`${candidate.path}/`));

  useEffect(() => {
    if (path === '/' || path === '/index.html') navigate('/live');
  }, [path]);

  const title = reportMatch !== null ? 'Incident report' : (screen?.title ?? 'Not found');
  useEffect(() => {
    document.title = `${title} · guardpost`;
  }, [title]);

  const signOut = async (): Promise<void> => {
    try {
      await api('/api/v1/auth/logout', { method: 'POST' });
    } catch {
      // Signed out locally either way.
    }
    live.stop();
    setSession(null);
    navigate('/');
  };

  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">guardpost</span>
        <nav aria-label="Screens">
          <ul>
            {visible.map((item) => (
              <li key={item.path}>
                <a href={item.path} aria-current={screen === item ? 'page' : undefined}>
                  {item.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span data-testid="signed-in-as">
            {props.session.user} ({role})
          </span>
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <AlarmTakeover role={role} />
      <EvacuationTakeover role={role} />
      <main id="main" tabIndex={-1}>
        {reportMatch !== null && roleAllows(role, 'security') ? (
          <AlarmReportScreen alarmId={reportMatch[1]!} />
        ) : screen !== undefined ? (
          screen.render(role, path)
        ) : (
          <NotAllowed path={path} role={role} />
        )}
      </main>
    </div>
  );
}

function NotAllowed(props: { path: string; role: Role }): JSX.Element {
  const known = props.path.startsWith('/alarms/') ? { title: 'Incident report', role: 'security' } : screens.find((candidate) => props.path.startsWith(candidate.path));
  return (
    <div class="card">
      <h1>{known !== undefined ? known.title : 'Page not found'}</h1>
      <p>{known !== undefined ? `The ${props.role} role may not open this screen; it needs ${known.role}.` : `There is no screen at ${props.path}.`}</p>
      <p>
        <a href="/live">Go to the Live screen</a>
      </p>
    </div>
  );
}
