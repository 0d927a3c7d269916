/**
 * Exponential reconnect delay with jitter: base * 2^attempt, +-`jitter`
 * fraction at random so a room of devices does not reconnect in lockstep
 * after a coordinator restart, never above `max`.
 */
export function backoffDelay(attempt: number, base: number, max: number, jitter = 0.5, random: () => number = Math.random): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  const factor = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.min(max, Math.round(raw * factor)));
}
