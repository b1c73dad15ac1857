/** Runs async tasks one at a time, in the order they were queued. */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** Number of tasks running or waiting. */
  get size(): number {
    return this.queued;
  }

  /** Queues `task` behind every task queued before it and resolves to its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(task);
    const done = (): void => {
      this.queued--;
    };
    this.tail = result.then(done, done);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
