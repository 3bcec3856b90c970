/**
 * A pool worker: loads and validates the spec itself (so third-party plugins register here too),
 * selects the backend, then runs the jobs the main thread sends, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GfraUserError, selectBackend, type BackendChoice } from '@gfra/core';
import type { WorkerCommand, WorkerMessage } from './executors';
import { runJob } from './montecarlo';
import { loadSpec } from './run';

interface WorkerData {
  readonly specFile: string;
  readonly backend: BackendChoice;
}

async function serve(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker.ts must run in a worker thread');
  const send = (m: WorkerMessage) => port.postMessage(m);
  const { specFile, backend } = workerData as WorkerData;
  const { validated, registry } = loadSpec(specFile);
  await selectBackend(backend);
  let controller = new AbortController();
  let aborted = false;
  port.on('message', (command: WorkerCommand) => {
    if (command.type === 'exit') {
      port.close();
      return;
    }
    if (command.type === 'abort') {
      aborted = true;
      controller.abort();
      return;
    }
    if (aborted) controller.abort();
    const { position, specIndex, artifact } = command;
    runJob(validated.jobs[specIndex], {
      registry,
      artifact,
      seed: validated.spec.seed,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch') send({ type: 'progress', position, trials: e.trials, fraction: e.fraction, seconds: e.seconds });
        else if (e.type === 'warning') send({ type: 'warning', message: e.message });
      },
    }).then(
      (result) => {
        controller = aborted ? controller : new AbortController();
        send({ type: 'result', position, result });
      },
      (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err), user: err instanceof GfraUserError }),
    );
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
