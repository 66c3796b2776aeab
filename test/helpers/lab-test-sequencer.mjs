// jest testSequencer: jest's default order, except that test/e2e/lab.test.ts runs last, because
// it ends by tearing the shared lab down (every other suite reuses that lab through ensureLab()).
import Sequencer from '@jest/test-sequencer';

const LAST = /test\/e2e\/lab\.test\.ts$/;
const Base = Sequencer.default ?? Sequencer;

export default class LabTestSequencer extends Base {
  sort(tests) {
    const sorted = super.sort(tests);
    const order = (list) => [...list.filter((t) => !LAST.test(t.path)), ...list.filter((t) => LAST.test(t.path))];
    return sorted instanceof Promise ? sorted.then(order) : order(sorted);
  }
}
