import { describeS3Server, s3SkipReason } from '../../../test-support/s3';
import { describeApiSuite } from './support/api-suite';
import { createS3Driver } from './support/s3-driver';

// The API suite again on s3 with `v4auth: false`: every S3 request signed with Signature Version 2
// (a file of its own, so that jest runs it beside the SigV4 one).
const skipReason = s3SkipReason();
if (!skipReason) console.log(`API suite on s3 with v4auth: false: ${describeS3Server()}`);

describeApiSuite({ name: 's3 (v4auth: false)', skipReason, create: () => createS3Driver('api-sigv2', { v4auth: false }) });
