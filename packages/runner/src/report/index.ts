export * from './assets';
export * from './html';
export * from './charts';
export * from './sections';
export * from './report';
