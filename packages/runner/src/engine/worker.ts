/**
 * A pool worker: builds the registry (built-in plugins plus the spec's plugin modules, as the
 * main thread resolved them), selects the backend, then runs the planned jobs the main thread
 * sends, one at a time. It never reads the spec: a job arrives as data. An `abort` stops the
 * running job at its next batch boundary (its partial result comes back, stop `interrupted`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GfraUserError, selectBackend } from '@gfra/core';
import { builtinRegistry, loadPluginModules } from '../spec/plugins';
import type { WorkerCommand, WorkerData, WorkerMessage } from './executors';
import { jobFailure, runJob } from './montecarlo';
import { CommitPipeline } from './commits';

async function serve(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker.ts must run in a worker thread');
  const send = (m: WorkerMessage) => port.postMessage(m);
  const { pluginModules, specFile, backend } = workerData as WorkerData;
  const registry = builtinRegistry();
  loadPluginModules(registry, pluginModules, specFile);
  await selectBackend(backend);
  const controller = new AbortController();
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let seq = 0;
  port.on('message', (command: WorkerCommand) => {
    if (command.type === 'committed') {
      const w = waiting.get(command.seq);
      waiting.delete(command.seq);
      if (command.error === undefined) w?.resolve();
      else w?.reject(new Error(command.error));
      return;
    }
    if (command.type === 'exit') {
      port.close();
      return;
    }
    if (command.type === 'abort') {
      controller.abort();
      return;
    }
    const { position, job, artifact, total, resume, commit } = command;
    const commits = commit
      ? new CommitPipeline(
          (record) =>
            new Promise<void>((resolve, reject) => {
              seq += 1;
              waiting.set(seq, { resolve, reject });
              send({ type: 'batch', position, seq, record });
            }),
        )
      : undefined;
    runJob(job, {
      registry,
      artifact,
      resume,
      ...(commits === undefined ? {} : { onBatch: commits.onBatch }),
      index: position,
      total,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch') send({ type: 'progress', position, trials: e.trials, fraction: e.fraction, seconds: e.seconds });
        else if (e.type === 'warning') send({ type: 'warning', message: e.message });
      },
    })
      .then(async (result) => {
        await commits?.flush();
        send({ type: 'result', position, result });
      })
      .catch(async (err: unknown) => {
        // A job that throws is recorded (after its last commit settled); this worker goes on with the next one.
        await commits?.settled();
        send({ type: 'job-failed', position, failure: jobFailure(job, err) });
      });
  });
  send({ type: 'ready' });
}

serve().catch((err: unknown) => {
  parentPort?.postMessage({
    type: 'failed',
    message: err instanceof Error ? err.message : String(err),
    user: err instanceof GfraUserError,
  } satisfies WorkerMessage);
});
