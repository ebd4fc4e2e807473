/**
 * Reads one secret: at a terminal, a prompt with echo off; otherwise the first line of stdin
 * (for scripts: `printf '%s\n' "$PW" | guardpost user add …`).
 */
type SecretSource = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export async function readSecret(prompt: string, input: SecretSource = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (input.isTTY !== true || input.setRawMode === undefined) {
    let text = '';
    for await (const chunk of input) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  output.write(prompt);
  const setRawMode = input.setRawMode.bind(input);
  setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let secret = '';
    const onData = (data: Buffer | string): void => {
      for (const char of data.toString()) {
        if (char === '\r' || char === '\n') return done(() => resolve(secret));
        if (char === '\u0003') return done(() => reject(new Error('cancelled')));
        if (char === '\u007f') secret = secret.slice(0, -1);
        else secret += char;
      }
    };
    const done = (finish: () => void): void => {
      input.off('data', onData);
      setRawMode(false);
      input.pause();
      output.write('\n');
      finish();
    };
    input.on('data', onData);
  });
}
