// Creates a bucket on an S3 endpoint (used by start-rgw.sh once the gateway answers).
// Usage: node create-bucket.cjs ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
'use strict';
const { S3Client, CreateBucketCommand, HeadBucketCommand } = require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, accessKeyId, secretAccessKey, bucket] = process.argv.slice(2);
  if (!bucket) throw new Error('usage: create-bucket.cjs ENDPOINT ACCESS_KEY SECRET_KEY BUCKET');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // The gateway may still be settling its pools right after it starts answering: retry briefly.
  let lastError;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      client.destroy();
      return;
    } catch (error) {
      if (error && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists')) {
        client.destroy();
        return;
      }
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  client.destroy();
  throw lastError;
}

main().catch((error) => {
  console.error(`create-bucket: ${error && error.message ? error.message : error}`);
  process.exit(1);
});
