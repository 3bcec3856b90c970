import { expect } from 'chai';
import { applyDefaults, RandomStreams } from '@gfra/core';
import { AmpUnfoldedDetector, AmpUnfoldedParams } from '../amp-unfolded';
import { MapUnfoldedDetector, MapUnfoldedParams } from '../map-unfolded';
import { priorDiagnostics } from './layers';

describe('learned-prior diagnostics (eps1/eps2 of Cui, Li, Zhang)', () => {
  it('means over the first floor(N/2) devices and the rest, and their ratio (hand values)', () => {
    const d = priorDiagnostics([0.3, 0.1, 0.1, 0.1, 0.1]); // N1 = first 2 devices, N2 = last 3
    expect(Object.keys(d)).to.deep.equal(['eps1', 'eps2', 'eps1/eps2']);
    expect(d.eps1).to.be.closeTo(0.2, 1e-15);
    expect(d.eps2).to.be.closeTo(0.1, 1e-15);
    expect(d['eps1/eps2']).to.be.closeTo(2, 1e-14);
    expect(priorDiagnostics([0.4])).to.deep.equal({ eps: 0.4 });
  });

  it('AMP-NN and MAP-NN report their current priors: eps1 = eps2 = p before training', () => {
    const s = { numDevices: 8, numAntennas: 2, sequenceLength: 4, bitsPerDevice: 0 };
    const amp = new AmpUnfoldedDetector(applyDefaults(AmpUnfoldedParams, { activityProb: 0.2 }) as AmpUnfoldedParams, s, new RandomStreams(['d']));
    const map = new MapUnfoldedDetector(applyDefaults(MapUnfoldedParams, { activityProb: 0.2 }) as MapUnfoldedParams, s, new RandomStreams(['d']));
    for (const d of [amp.diagnostics(), map.diagnostics()]) {
      expect(d.eps1).to.be.closeTo(0.2, 1e-6);
      expect(d.eps2).to.be.closeTo(0.2, 1e-6);
      expect(d['eps1/eps2']).to.be.closeTo(1, 1e-6);
    }
    amp.dispose();
    map.dispose();
  });
});
