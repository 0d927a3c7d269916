/** Cosine decay from lr0 to 0 over `total` steps, evaluated per step. */
export function cosineLr(lr0: number, step: number, total: number): number {
  if (total <= 0) return lr0;
  return 0.5 * lr0 * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}
