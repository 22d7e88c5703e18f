import type { DeviceBroker, TappedMessage } from '../broker/broker.ts';

/**
 * Device traffic for `carebell record`: while someone listens, every message
 * a device is allowed to publish is handed to the listeners as it arrives;
 * with no listener the broker's tap is unset and costs nothing.
 */
export class TrafficTap {
  readonly #listeners = new Set<(m: TappedMessage) => void>();
  readonly #broker: DeviceBroker;
  constructor(broker: DeviceBroker) {
    this.#broker = broker;
  }
  subscribe(fn: (m: TappedMessage) => void): () => void {
    this.#listeners.add(fn);
    this.#broker.tap = (m) => {
      for (const l of this.#listeners) l(m);
    };
    return () => {
      this.#listeners.delete(fn);
      if (this.#listeners.size === 0) this.#broker.tap = undefined;
    };
  }
}
