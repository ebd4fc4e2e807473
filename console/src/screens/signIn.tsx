import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, setSession, type Role } from '../api.js';
import { unlockAudio } from '../sound.js';
import { ErrorText, Field, useAction } from '../ui.js';

interface LoginResult {
  readonly token: string;
  readonly expiresAt: string;
  readonly user: string;
  readonly role: Role;
}

export function SignIn(): JSX.Element {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(async () => {
    const result = await api<LoginResult>('/api/v1/auth/login', { method: 'POST', body: { user, password } });
    setSession({ token: result.token, user: result.user, role: result.role, expiresAt: result.expiresAt });
  });
  const error = login.error instanceof ApiError ? login.error : null;
  return (
    <main class="signin" id="main">
      <form
        class="card"
        aria-labelledby="signin-title"
        onSubmit={(event) => {
          event.preventDefault();
          // The click that signs in is the gesture that lets the alarm make a sound later.
          unlockAudio();
          void login.run();
        }}
      >
        <h1 id="signin-title">Sign in to guardpost</h1>
        <Field label="User name" name="user" value={user} onInput={setUser} autoComplete="username" required error={error?.forField('user')} />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword} autoComplete="current-password" required error={error?.forField('password')} />
        {error !== null && error.forField('user') === undefined && error.forField('password') === undefined ? <ErrorText error={error} /> : null}
        {login.error !== null && error === null ? <ErrorText error={login.error} /> : null}
        <button type="submit" class="primary" disabled={login.busy}>
          {login.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
