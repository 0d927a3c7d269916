import { Injectable } from '@nestjs/common';

/**
 * How many Socket.IO messages this coordinator refused, by error code
 * (`GET /metrics` reads it). One per coordinator, not process-wide: tests
 * run several coordinators in one process.
 */
@Injectable()
export class RefusalTally {
  private readonly counts = new Map<string, number>();

  count(code: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  /** code -> refusals so far. */
  byCode(): ReadonlyMap<string, number> {
    return this.counts;
  }
}
