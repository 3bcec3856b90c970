import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { FILE_PATH_KEYWORD } from '@gfra/core';
import { mapFilePaths } from './file-paths';

describe('spec/file-paths', () => {
  const Params = Type.Object({
    top: Type.Optional(Type.String({ [FILE_PATH_KEYWORD]: true })),
    label: Type.Optional(Type.String()),
    source: Type.Union([
      Type.Object({ source: Type.Literal('builtin'), name: Type.String() }),
      Type.Object({ source: Type.Literal('file'), path: Type.String({ [FILE_PATH_KEYWORD]: true }) }),
    ]),
    list: Type.Optional(Type.Array(Type.Object({ file: Type.String({ [FILE_PATH_KEYWORD]: true }) }))),
  });
  const up = (f: string) => `/base/${f}`;

  it('maps file paths at the top level, in the matching branch of a union and in arrays; nothing else', () => {
    const value = { top: 'a.json', label: 'x.json', source: { source: 'file', path: 'b.json' }, list: [{ file: 'c.json' }] };
    expect(mapFilePaths(Params, value, up)).to.deep.equal({
      top: '/base/a.json',
      label: 'x.json',
      source: { source: 'file', path: '/base/b.json' },
      list: [{ file: '/base/c.json' }],
    });
    expect(value.source.path, 'the input is not changed').to.equal('b.json');
    const builtin = { source: { source: 'builtin', name: 'n.json' } };
    expect(mapFilePaths(Params, builtin, up)).to.equal(builtin);
  });
});
