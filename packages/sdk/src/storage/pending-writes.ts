/**
 * Writes issued without awaiting each one (so IndexedDB pipelines them), awaited together by {@link settle}. If the
 * code issuing them throws before settling, the transaction fails with that error; the writes' own rejections
 * (consequences of the same abort) are then observed here instead of surfacing as unhandled rejections.
 */
export class PendingWrites {
  private readonly ops: Promise<unknown>[] = [];

  /** Tracks one issued write. */
  add(op: Promise<unknown>): void {
    op.catch(ignore);
    this.ops.push(op);
  }

  /** Resolves when every tracked write has; rejects with the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.ops);
    this.ops.length = 0;
  }
}

function ignore(): void {}
