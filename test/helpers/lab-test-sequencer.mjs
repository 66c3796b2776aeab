// jest testSequencer: jest's default order, except for suites that must come late. The replication
// and workflow suites turn the shared lab into a warm-spare pair (replica servers running, modes
// and jobs installed), which the task suites do not expect, so they run after them, replication
// first (workflows build on it; among them setup first, since the others need the warm spare it
// makes and jest would otherwise order them by size and past duration, and the DR drill last).
// The lab proof suites run last, because they end by tearing a shared lab down (every other suite
// reuses the labs through ensureLab() and ensurePeLab()): test/e2e/pe/lab-pe.test.ts, then
// test/e2e/lab.test.ts.
import Sequencer from '@jest/test-sequencer';

const LATE = [
  /test\/e2e\/replication\//,
  // setup first (the others start from the pair it makes), the drill last (it leaves the pair
  // switched, failed over and back: healthy, but after every other workflow check).
  /test\/e2e\/workflows\/setup\.test\.ts$/,
  /test\/e2e\/workflows\/(?!drill\.test\.ts$)/,
  /test\/e2e\/workflows\/drill\.test\.ts$/,
  /test\/e2e\/pe\/lab-pe\.test\.ts$/,
  /test\/e2e\/lab\.test\.ts$/,
];
const Base = Sequencer.default ?? Sequencer;
const rank = (t) => LATE.findIndex((re) => re.test(t.path));

export default class LabTestSequencer extends Base {
  sort(tests) {
    const sorted = super.sort(tests);
    const order = (list) => [
      ...list.filter((t) => rank(t) < 0),
      ...LATE.flatMap((_, i) => list.filter((t) => rank(t) === i)),
    ];
    return sorted instanceof Promise ? sorted.then(order) : order(sorted);
  }
}
