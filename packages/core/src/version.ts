export const BATCHSCORE_VERSION = '0.1.0';
