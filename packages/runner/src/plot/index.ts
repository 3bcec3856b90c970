export * from './params';
export * from './rows';
export * from './chart-spec';
export * from './render';
export * from './figure';
