/** Training: the Trainable contract, the generic trainer, losses, optimizers, artifacts, transmit objects. */
export * from './config';
export * from './trainable';
export * from './losses';
export * from './optimizers';
export * from './trainer';
export * from './artifacts';
export * from './transmit';
export * from './ops';
export * from './constellation';
export * from './wasm-heap';
