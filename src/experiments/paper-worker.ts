// Child-process entry of `dynaprune paper --jobs N`: trains one run of the comparison and reports back.
import { serveOneJob } from './job-runners.js';

serveOneJob();
