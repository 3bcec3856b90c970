import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coherenceMeasures, GfraUserError, TRANSMIT_FORMAT } from '@gfra/core';
import { coherenceReport, formatCoherence } from './coherence';

function writePilots(re: number[], im: number[], shape: number[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gfra-coh-')), 'pilots.json');
  fs.writeFileSync(file, JSON.stringify({ format: TRANSMIT_FORMAT, kind: 'codebook', shape, re, im }));
  return file;
}

describe('gfra coherence', () => {
  // 2 x 4 pilots: columns e1, e2, e1, (e1 + e2)/sqrt(2)
  const re = [1, 0, 1, Math.SQRT1_2, 0, 1, 0, Math.SQRT1_2];
  const im = new Array<number>(8).fill(0);

  it('reports the matrix\'s measures and the Gaussian mean and spread over seeded draws', () => {
    const file = writePilots(re, im, [2, 4]);
    const options = { groups: 2, draws: 50, seed: 3 };
    const report = coherenceReport(file, options);
    expect(report.pilots).to.deep.equal(coherenceMeasures(re, im, 2, 4, 2));
    expect(report.pilots.coherence).to.be.closeTo(1, 1e-12); // columns 0 and 2 coincide
    expect(report.pilots.subCoherence).to.be.closeTo(Math.SQRT1_2, 1e-12); // group 1: e1 vs (e1 + e2)/sqrt(2); group 0: e1, e2 orthogonal
    expect(Object.keys(report.gaussian)).to.have.members(['coherence', 'blockCoherence', 'blockCoherenceMean', 'subCoherence', 'subCoherenceMean']);
    expect(report.gaussian.coherence.sd).to.be.greaterThan(0);
    expect(coherenceReport(file, options)).to.deep.equal(report); // seeded
    expect(coherenceReport(file, { ...options, seed: 4 }).gaussian.coherence.mean).to.not.equal(report.gaussian.coherence.mean);
    const text = formatCoherence(report, file, options);
    expect(text).to.match(/L = 2, N = 4, 2 groups of 2/);
    expect(text).to.match(/^sub-coherence \(mean over groups\)\s+0\.3536/m);
  });

  it('explains bad input as user errors', () => {
    const file = writePilots(re, im, [2, 4]);
    expect(() => coherenceReport(file, { groups: 3, draws: 10, seed: 1 })).to.throw(GfraUserError, /--groups must be a positive divisor of N = 4/);
    expect(() => coherenceReport(file, { draws: 0, seed: 1 })).to.throw(GfraUserError, /--draws must be a positive integer/);
    expect(() => coherenceReport(writePilots([1, 2], [0, 0], [2]), { draws: 1, seed: 1 })).to.throw(GfraUserError, /expected a pilot matrix \[L, N\]/);
    expect(() => coherenceReport('/nonexistent/p.json', { draws: 1, seed: 1 })).to.throw(GfraUserError, /file not found/);
  });
});
