/**
 * Worker-thread entry of the broadcast benchmark: runs a ViewerDriver for the
 * viewers it was given and answers the main thread's report and close requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ViewerDriver, type FromWorker, type ToWorker, type ViewerWorkerData } from './ViewerDriver.js';

if (!parentPort) throw new Error('viewer-worker.js must run in a worker thread');
const port = parentPort;
const data = workerData as ViewerWorkerData;
const driver = new ViewerDriver(data);

const post = (message: FromWorker): void => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'report') {
    post(driver.report(message.expected));
  } else if (message.type === 'step') {
    driver.startStep();
    post({ type: 'stepped', workerIndex: data.workerIndex });
  } else if (message.type === 'close') {
    void driver.close().then(() => {
      post({ type: 'closed', workerIndex: data.workerIndex });
      port.close();
    });
  }
});

const { joined, failed } = await driver.connectAll();
post({ type: 'ready', workerIndex: data.workerIndex, joined, failed });
