// The commit protocol, in one place: a worker claims an attempt, stages its parts, and writes a commit record
// naming them; merge reads every commit, publishes the committed parts, and removes what the attempts staged.
export * from './CommitOwner.js';
export * from './claimAttempt.js';
export * from './readCommit.js';
export * from './findCommitted.js';
export * from './writeCommit.js';
export * from './readCommits.js';
export * from './listStaged.js';
export * from './publishParts.js';
export * from './removeStaleParts.js';
export * from './removeOrphanAttempts.js';
