import { expect } from 'chai';
import { applyNativeThresholds, fixNativeMmapThreshold } from './native-memory';

/** glibc's version where this process runs on glibc (Node's diagnostic report names it), else undefined. */
function glibcVersion(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

describe('native memory: glibc thresholds fixed for long sweeps', () => {
  it('fixes them on Linux with glibc, and only there', function () {
    const glibc = process.platform === 'linux' && glibcVersion() !== undefined;
    expect(applyNativeThresholds({}, process.platform), `platform ${process.platform}, glibc ${glibcVersion() ?? 'none'}`).to.equal(glibc);
  });

  it('does nothing on other platforms', () => {
    expect(applyNativeThresholds({}, 'darwin')).to.equal(false);
    expect(applyNativeThresholds({}, 'win32')).to.equal(false);
  });

  it("leaves the thresholds to a user who set glibc's own variables", () => {
    expect(applyNativeThresholds({ MALLOC_MMAP_THRESHOLD_: '65536' }, 'linux')).to.equal(false);
    expect(applyNativeThresholds({ MALLOC_TRIM_THRESHOLD_: '0' }, 'linux')).to.equal(false);
  });

  it('acts once per process and reports the same outcome afterwards', () => {
    const first = fixNativeMmapThreshold();
    expect(fixNativeMmapThreshold()).to.equal(first);
  });
});
