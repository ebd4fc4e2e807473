/** guardpost's MQTT topics under one prefix (DESIGN.md, "MQTT conventions"). */
export class Topics {
  constructor(readonly prefix: string) {}

  deviceInput(deviceId: string): string {
    return `${this.prefix}/devices/${deviceId}/input`;
  }
  deviceOutput(deviceId: string): string {
    return `${this.prefix}/devices/${deviceId}/output`;
  }
  deviceAvailability(deviceId: string): string {
    return `${this.prefix}/devices/${deviceId}/availability`;
  }
  get allDeviceInputs(): string {
    return `${this.prefix}/devices/+/input`;
  }
  get allDeviceAvailability(): string {
    return `${this.prefix}/devices/+/availability`;
  }
  get events(): string {
    return `${this.prefix}/events`;
  }
  get bridgeState(): string {
    return `${this.prefix}/bridge/state`;
  }

  /** The device id of a `<prefix>/devices/<id>/<leaf>` topic, or undefined. */
  deviceIdOf(topic: string, leaf: 'input' | 'availability'): string | undefined {
    const head = `${this.prefix}/devices/`;
    const tail = `/${leaf}`;
    if (!topic.startsWith(head) || !topic.endsWith(tail)) return undefined;
    const id = topic.slice(head.length, topic.length - tail.length);
    return /^[a-z0-9-]+$/.test(id) ? id : undefined;
  }

  /** What anonymous read-only observers may watch in demo mode: never raw device input. */
  get observerFilters(): readonly string[] {
    return [this.events, `${this.prefix}/doors/#`, `${this.prefix}/alarms/#`, this.bridgeState, this.allDeviceAvailability];
  }
}
