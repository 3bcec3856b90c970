/**
 * Test data shared by the SCMA tests, restated here so that they do not depend on the encoder
 * package.
 */

/** A complex number as [re, im]. */
export type Cplx = [number, number];
/** codebook[n][q][l] = [re, im] */
export type Book = Cplx[][][];

/**
 * The published 6-user, 4-RE, 4-point SCMA codebook (5G algorithm innovation competition, 2015),
 * restated here as test data so that these tests do not depend on the encoder package: the
 * point set each user puts on REs 0..3 (Z = unused).
 */
export function scma6x4(): Book {
  const A: Cplx[] = [[0.7851, 0], [-0.2243, 0], [0.2243, 0], [-0.7851, 0]];
  const Bs: Cplx[] = [[-0.1815, -0.1318], [-0.6351, -0.4615], [0.6351, 0.4615], [0.1815, 0.1318]];
  const Cs: Cplx[] = [[-0.6351, 0.4615], [0.1815, -0.1318], [-0.1815, 0.1318], [0.6351, -0.4615]];
  const D: Cplx[] = [[0.1392, -0.1759], [0.4873, -0.6156], [-0.4873, 0.6156], [-0.1392, 0.1759]];
  const E: Cplx[] = [[-0.0055, -0.2242], [-0.0193, -0.7848], [0.0193, 0.7848], [0.0055, 0.2242]];
  const Z: Cplx[] = [[0, 0], [0, 0], [0, 0], [0, 0]];
  const layout = [[Z, Bs, Z, A], [A, Z, Bs, Z], [Cs, D, Z, Z], [Z, Z, A, E], [E, Z, Z, Cs], [Z, A, D, Z]];
  return layout.map((perRe) => [0, 1, 2, 3].map((q) => perRe.map((set) => set[q])));
}
