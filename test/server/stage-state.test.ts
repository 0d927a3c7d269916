import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG } from '../../engine/model/config.js';
import { cutAfter, shapeContract } from '../../engine/model/shape-contract.js';
import { StageState } from '../../server/pipeline/stage-state.js';

function stage(): StageState {
  const contract = shapeContract({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2 });
  return new StageState(0, 'd', 0, 0, 100, cutAfter(contract, 0, 'float32'), 1 << 20);
}

describe('a stage\'s measured time per batch', () => {
  it('averages the training answers after the first, leaving out evaluation and the warm-up batch', () => {
    const st = stage();
    st.inFlight.set(0, 0);
    st.answered(0, 5000, 'train'); // warm-up: 5 s
    expect(st.view(1).meanTrainMsPerBatch).toBeNull();
    // Queued behind each other: each starts when the previous answer came.
    for (const [id, at] of [[1, 5800], [2, 6800], [3, 7700]] as const) {
      st.inFlight.set(id, 4000);
      st.answered(id, at, 'train');
    }
    st.inFlight.set(4, 9000);
    st.answered(4, 9100, 'eval');
    expect(st.view(4).meanTrainMsPerBatch).toBeCloseTo((800 + 1000 + 900) / 3, 9);
  });

  it('does not count the time a stage waited for its input', () => {
    const st = stage();
    st.inFlight.set(0, 0);
    st.answered(0, 1000, 'train');
    st.inFlight.set(1, 3000); // arrived 2 s after the last answer
    st.answered(1, 3500, 'train');
    expect(st.view(2).meanTrainMsPerBatch).toBe(500);
  });
});
