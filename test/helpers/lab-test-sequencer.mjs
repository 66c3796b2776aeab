// jest testSequencer: jest's default order, except that the lab proof suites run last, because
// they end by tearing a shared lab down (every other suite reuses the labs through ensureLab()
// and ensurePeLab()): test/e2e/pe/lab-pe.test.ts, then test/e2e/lab.test.ts.
import Sequencer from '@jest/test-sequencer';

const LAST = [/test\/e2e\/pe\/lab-pe\.test\.ts$/, /test\/e2e\/lab\.test\.ts$/];
const Base = Sequencer.default ?? Sequencer;
const rank = (t) => LAST.findIndex((re) => re.test(t.path));

export default class LabTestSequencer extends Base {
  sort(tests) {
    const sorted = super.sort(tests);
    const order = (list) => [
      ...list.filter((t) => rank(t) < 0),
      ...LAST.flatMap((_, i) => list.filter((t) => rank(t) === i)),
    ];
    return sorted instanceof Promise ? sorted.then(order) : order(sorted);
  }
}
