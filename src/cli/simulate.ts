import mqtt from 'mqtt';
import { maskCardNumber } from '../access/credentials.js';
import { loadConfigFile } from '../config/load.js';
import { GuardpostError } from '../errors.js';
import type { JournalEvent } from '../journal/index.js';
import { DEMO_DEVICE_PASSWORD } from '../site/brokerPolicy.js';
import { Topics } from '../site/topics.js';
import { stringOption, type CliIo, type ParsedArgs } from './run.js';
import { DEFAULT_CONFIG } from './start.js';

/**
 * `guardpost simulate badge`: logs in to the broker as the reader device, presents a card, and
 * watches `guardpost/events` (as a demo observer) for the decision the gateway journalled.
 */
export async function simulateCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [what] = args.positionals;
  if (what !== 'badge') throw new GuardpostError('GP_ERR_USAGE', 'simulate needs what to simulate: simulate badge --reader ID --card NUMBER');
  const reader = stringOption(args, 'reader');
  const card = stringOption(args, 'card');
  if (reader === undefined || card === undefined) throw new GuardpostError('GP_ERR_USAGE', 'simulate badge needs --reader ID and --card NUMBER');
  if (!/^[0-9]{1,20}$/.test(card)) throw new GuardpostError('GP_ERR_USAGE', `--card: expected 1 to 20 decimal digits, got "${card}"`);
  const timeoutText = stringOption(args, 'timeout-ms') ?? '5000';
  const timeoutMs = Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new GuardpostError('GP_ERR_USAGE', `--timeout-ms: expected a positive integer, got "${timeoutText}"`);

  const { config } = loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG);
  const url = stringOption(args, 'url') ?? (config.mqtt.mode === 'external' ? (config.mqtt.url ?? '') : `mqtt://127.0.0.1:${config.mqtt.port}`);
  const topics = new Topics(config.mqtt.prefix);
  const password = stringOption(args, 'password') ?? DEMO_DEVICE_PASSWORD;

  const connect = async (options: mqtt.IClientOptions, who: string): Promise<mqtt.MqttClient> => {
    try {
      return await mqtt.connectAsync(url, { ...options, reconnectPeriod: 0, connectTimeout: timeoutMs });
    } catch (error) {
      throw new GuardpostError('GP_ERR_TRANSPORT', `cannot connect to ${url} as ${who}: ${(error as Error).message}`);
    }
  };
  const observer = await connect({ clientId: `gp-simulate-observer-${process.pid}` }, 'an anonymous observer (the gateway must run with demo: true)');
  let device: mqtt.MqttClient | undefined;
  try {
    await observer.subscribeAsync(topics.events, { qos: 1 }).catch((error: Error) => {
      throw new GuardpostError('GP_ERR_FORBIDDEN', `the broker refused a subscription to ${topics.events}: ${error.message}`);
    });
    device = await connect({ clientId: `gp-simulate-${reader}-${process.pid}`, username: reader, password }, `device ${reader}`);

    const masked = maskCardNumber(card);
    const decision = new Promise<JournalEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GuardpostError('GP_ERR_TIMEOUT', `no decision from the gateway within ${timeoutMs} ms`)), timeoutMs);
      observer.on('message', (_topic, payload) => {
        const event = JSON.parse(payload.toString('utf8')) as JournalEvent;
        const isDecision = event.type.startsWith('access.') && event.device === reader && event.data.card === masked;
        const isRefusal = event.type === 'device.unauthorized' && event.device === reader;
        if (!isDecision && !isRefusal) return;
        clearTimeout(timer);
        if (isRefusal) reject(new GuardpostError('GP_ERR_FORBIDDEN', `the broker refused ${reader}: ${event.reason}`));
        else resolve(event);
      });
    });
    await device.publishAsync(topics.deviceInput(reader), JSON.stringify({ type: 'card', card }), { qos: 1 });
    const event = await decision;
    io.out(
      JSON.stringify({
        granted: event.type === 'access.granted',
        reason: event.reason,
        door: event.door,
        reader,
        cardholder: event.cardholder,
        card: masked,
        event: event.id,
        seq: event.seq,
        time: event.time,
      }),
    );
    return 0;
  } finally {
    await Promise.all([observer.endAsync(true), device?.endAsync(true)]);
  }
}
