import { expect } from 'chai';
import { deviceBits, deviceSequences, numSequences, resolveScenario, scenarioProblems } from './scenario';

describe('scenario: bits per device', () => {
  const base = { numDevices: 6, numAntennas: 1, sequenceLength: 4 };

  it('a single bitsPerDevice stays as it is (no deviceBits): every device has 2^J messages', () => {
    const s = resolveScenario({ ...base, bitsPerDevice: 2 });
    expect(s).to.deep.equal({ ...base, bitsPerDevice: 2 });
    expect(deviceBits(s)).to.deep.equal([2, 2, 2, 2, 2, 2]);
    expect(numSequences(s)).to.equal(4);
  });

  it('a list gives J = max J_n to every plugin and the J_n in deviceBits; Q_n = 2^{J_n}', () => {
    const s = resolveScenario({ ...base, bitsPerDevice: [1, 1, 1, 2, 2, 2] });
    expect(s.bitsPerDevice).to.equal(2);
    expect(s.deviceBits).to.deep.equal([1, 1, 1, 2, 2, 2]);
    expect(deviceSequences(s)).to.deep.equal([2, 2, 2, 4, 4, 4]);
    expect(numSequences(s)).to.equal(4);
    expect(scenarioProblems({ ...base, bitsPerDevice: [1, 1, 1, 2, 2, 2] })).to.deep.equal([]);
  });

  it('a list must have one entry per device', () => {
    expect(scenarioProblems({ ...base, bitsPerDevice: [1, 2] })[0]).to.include({ path: 'bitsPerDevice', message: 'has 2 entries, but numDevices is 6' });
  });
});
