// Test-wide settings: silence tfjs's console warnings (its "install tfjs-node" banner is noise in test output).
// PROD only mutes tfjs's logging; IS_TEST would also turn on a kernel leak check that misfires on tfjs's own
// fused ops.
import { env } from '@tensorflow/tfjs';

env().set('PROD', true);
