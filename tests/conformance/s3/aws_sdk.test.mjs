// The official AWS SDK for JavaScript v3 against Stoa's S3 endpoint.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, DeleteBucketCommand,
  PutObjectCommand, GetObjectCommand, HeadObjectCommand, DeleteObjectCommand, DeleteObjectsCommand,
  ListObjectsV2Command, ListObjectsCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand, ListPartsCommand,
  GetBucketLocationCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { credentials, region, startStoa } from "./stoa.mjs";

let stoa, s3;
const bucket = "sdk-bucket";

function client(creds = credentials, extra = {}) {
  return new S3Client({ endpoint: stoa.endpoint, region, forcePathStyle: true, credentials: creds,
                        maxAttempts: 1, ...extra });
}
const md5 = (data) => createHash("md5").update(data).digest("hex");

async function rejects(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (status) assert.equal(e.$metadata.httpStatusCode, status);
    return e;
  }
  assert.fail(`expected ${name}`);
}

before(async () => {
  stoa = await startStoa();
  s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
after(async () => { await stoa?.stop(); });

describe("buckets", () => {
  test("create, head, list, location, delete", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "temp-bucket" }));
    await s3.send(new HeadBucketCommand({ Bucket: "temp-bucket" }));
    const list = await s3.send(new ListBucketsCommand({}));
    // "stoa" is the bucket the components use, made at start-up.
    assert.deepEqual(list.Buckets.map((b) => b.Name).sort(), ["sdk-bucket", "stoa", "temp-bucket"]);
    assert.ok(list.Buckets[0].CreationDate instanceof Date);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: "temp-bucket" }));
    assert.ok(!location.LocationConstraint);
    await rejects(s3.send(new CreateBucketCommand({ Bucket: "temp-bucket" })), "BucketAlreadyOwnedByYou", 409);
    await s3.send(new PutObjectCommand({ Bucket: "temp-bucket", Key: "x", Body: "x" }));
    await rejects(s3.send(new DeleteBucketCommand({ Bucket: "temp-bucket" })), "BucketNotEmpty", 409);
    await s3.send(new DeleteObjectCommand({ Bucket: "temp-bucket", Key: "x" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "temp-bucket" }));
    await rejects(s3.send(new HeadBucketCommand({ Bucket: "temp-bucket" })), "NotFound", 404);
    await rejects(s3.send(new PutObjectCommand({ Bucket: "temp-bucket", Key: "x", Body: "x" })), "NoSuchBucket", 404);
    await rejects(s3.send(new CreateBucketCommand({ Bucket: "Bad_Bucket" })), "InvalidBucketName", 400);
  });
});

describe("objects", () => {
  test("put, head and get with content type and metadata", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "docs/hello.txt", Body: "hello world",
      ContentType: "text/plain", Metadata: { owner: "ann", purpose: "test" } }));
    assert.equal(put.ETag, `"${md5("hello world")}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "docs/hello.txt" }));
    assert.equal(head.ContentLength, 11);
    assert.equal(head.ContentType, "text/plain");
    assert.deepEqual(head.Metadata, { owner: "ann", purpose: "test" });
    assert.equal(head.ETag, put.ETag);
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "docs/hello.txt" }));
    assert.equal(await get.Body.transformToString(), "hello world");
    assert.equal(get.ContentLength, 11);
  });

  test("a stream body goes aws-chunked with a trailing checksum", async () => {
    const data = randomBytes(300 * 1024);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "stream.bin",
      Body: Readable.from([data.subarray(0, 100000), data.subarray(100000)]), ContentLength: data.length }));
    assert.equal(put.ETag, `"${md5(data)}"`);
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "stream.bin" }));
    assert.deepEqual(Buffer.from(await get.Body.transformToByteArray()), data);
  });

  for (const algorithm of ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]) {
    test(`checksum ${algorithm} is verified`, async () => {
      const body = `checked with ${algorithm}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sum-${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `sum-${algorithm}` }));
      assert.equal(await get.Body.transformToString(), body);
    });
  }

  test("a wrong checksum is refused with BadDigest and stores nothing", async () => {
    await rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "bad-sum", Body: "data",
      ChecksumCRC32: "AAAAAA==" })), "BadDigest", 400);
    await rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "bad-sum" })), "NotFound", 404);
    await rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "bad-md5", Body: "data",
      ContentMD5: createHash("md5").update("other").digest("base64") })), "BadDigest", 400);
  });

  test("ranges", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "digits", Body: "0123456789" }));
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "digits", Range: "bytes=2-4" }));
    assert.equal(await get.Body.transformToString(), "234");
    assert.equal(get.ContentRange, "bytes 2-4/10");
    assert.equal(get.$metadata.httpStatusCode, 206);
    const suffix = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "digits", Range: "bytes=-3" }));
    assert.equal(await suffix.Body.transformToString(), "789");
    await rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "digits", Range: "bytes=20-" })), "InvalidRange", 416);
  });

  test("conditional get and put", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cond", Body: "v1" }));
    // A 304 has no body, so the SDK cannot name the error: its status is what counts.
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond", IfNoneMatch: put.ETag })),
                         (e) => e.$metadata.httpStatusCode === 304);
    await rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond", IfMatch: '"nope"' })), "PreconditionFailed", 412);
    const ok = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond", IfMatch: put.ETag }));
    assert.equal(await ok.Body.transformToString(), "v1");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "once", Body: "first", IfNoneMatch: "*" }));
    await rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "once", Body: "second", IfNoneMatch: "*" })), "PreconditionFailed", 412);
    const once = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "once" }));
    assert.equal(await once.Body.transformToString(), "first");
  });

  test("copy, keeping or replacing metadata", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "payload", ContentType: "text/x", Metadata: { a: "1" } }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy 1", CopySource: `${bucket}/src` }));
    assert.equal(copy.CopyObjectResult.ETag, `"${md5("payload")}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "copy 1" }));
    assert.deepEqual(head.Metadata, { a: "1" });
    assert.equal(head.ContentType, "text/x");
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy2", CopySource: `${bucket}/src`,
      MetadataDirective: "REPLACE", Metadata: { b: "2" }, ContentType: "text/y" }));
    const head2 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "copy2" }));
    assert.deepEqual(head2.Metadata, { b: "2" });
    await rejects(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy3", CopySource: `${bucket}/missing` })), "NoSuchKey", 404);
  });

  test("delete one and many", async () => {
    for (const k of ["d/1", "d/2", "d/3"]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "d/1" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "d/1" }));  // twice is fine
    const many = await s3.send(new DeleteObjectsCommand({ Bucket: bucket,
      Delete: { Objects: [{ Key: "d/2" }, { Key: "d/3" }, { Key: "d/none" }] } }));
    assert.deepEqual(many.Deleted.map((d) => d.Key).sort(), ["d/2", "d/3", "d/none"]);
    await rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "d/2" })), "NoSuchKey", 404);
  });

  test("unicode and unusual keys round-trip", async () => {
    for (const key of ["ünï cødé/ключ.txt", "a+b=c&d", "sp ace/", "x//y", "q?uery#frag", "emoji 🎉", "%41"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await get.Body.transformToString(), key);
    }
  });
});

describe("listing", () => {
  const keys = ["list/a", "list/b/1", "list/b/2", "list/c", "list/d/1", "list/e"];
  before(async () => {
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
  });

  test("v2 with prefix and delimiter", async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "list/", Delimiter: "/" }));
    assert.deepEqual(r.Contents.map((c) => c.Key), ["list/a", "list/c", "list/e"]);
    assert.deepEqual(r.CommonPrefixes.map((c) => c.Prefix), ["list/b/", "list/d/"]);
    assert.equal(r.KeyCount, 5);
  });

  test("v2 pagination visits every key once", async () => {
    const seen = [];
    let token;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "list/", MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(r.Contents ?? []).map((c) => c.Key));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, keys);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "list/", StartAfter: "list/b/2" }));
    assert.deepEqual(after.Contents.map((c) => c.Key), ["list/c", "list/d/1", "list/e"]);
  });

  test("v1 with marker", async () => {
    const r = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: "list/", Marker: "list/c", MaxKeys: 2 }));
    assert.deepEqual(r.Contents.map((c) => c.Key), ["list/d/1", "list/e"]);
  });

  test("url encoding type", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "enc/a b", Body: "x" }));
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "enc/", EncodingType: "url" }));
    // Keys come back percent-encoded (%20, which both unquote flavours decode); the SDK leaves
    // decoding to the caller.
    assert.deepEqual(r.Contents.map((c) => c.Key), ["enc/a%20b"]);
  });
});

describe("multipart", () => {
  test("create, upload parts, list, complete", async () => {
    const part1 = randomBytes(5 * 1024 * 1024), part2 = randomBytes(1000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp", ContentType: "app/x" }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 2, Body: part2 }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: "mp", UploadId }));
    assert.deepEqual(parts.Parts.map((p) => [p.PartNumber, p.Size]), [[1, part1.length], [2, 1000]]);
    await rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "mp", UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: '"0000"' }] } })), "InvalidPart", 400);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "mp", UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
    const expected = createHash("md5").update(Buffer.concat([createHash("md5").update(part1).digest(),
                                                               createHash("md5").update(part2).digest()])).digest("hex");
    assert.equal(done.ETag, `"${expected}-2"`);
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "mp" }));
    assert.deepEqual(Buffer.from(await get.Body.transformToByteArray()), Buffer.concat([part1, part2]));
    assert.equal(get.ContentType, "app/x");
  });

  test("abort", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "gone" }));
    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "gone", UploadId, PartNumber: 1, Body: "x" }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "gone", UploadId }));
    await rejects(s3.send(new ListPartsCommand({ Bucket: bucket, Key: "gone", UploadId })), "NoSuchUpload", 404);
  });

  test("lib-storage Upload of a larger stream", async () => {
    const data = randomBytes(12 * 1024 * 1024 + 17);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: "big/upload.bin", Body: Readable.from([data]) },
                                partSize: 5 * 1024 * 1024, queueSize: 2 });
    await upload.done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "big/upload.bin" }));
    assert.equal(head.ContentLength, data.length);
    assert.match(head.ETag, /-3"$/);
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "big/upload.bin" }));
    assert.equal(createHash("sha256").update(Buffer.from(await get.Body.transformToByteArray())).digest("hex"),
                 createHash("sha256").update(data).digest("hex"));
  });
});

describe("presigned URLs", () => {
  test("GET and PUT", async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "presigned.txt" }), { expiresIn: 60 });
    const put = await fetch(putUrl, { method: "PUT", body: "via presigned put" });
    assert.equal(put.status, 200, await put.text());
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "presigned.txt" }), { expiresIn: 60 });
    const get = await fetch(getUrl);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), "via presigned put");
    const tampered = await fetch(getUrl.replace("presigned.txt", "other.txt"));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  test("an expired URL is refused", async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "presigned.txt" }), { expiresIn: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const r = await fetch(url);
    assert.equal(r.status, 403);
    const body = await r.text();
    assert.match(body, /<Code>AccessDenied<\/Code>/);
    assert.match(body, /expired/);
  });
});

describe("refusals", () => {
  test("a wrong secret gets SignatureDoesNotMatch, an unknown key InvalidAccessKeyId", async () => {
    await rejects(client({ accessKeyId: "stoa", secretAccessKey: "wrong-secret" })
      .send(new ListBucketsCommand({})), "SignatureDoesNotMatch", 403);
    await rejects(client({ accessKeyId: "nobody", secretAccessKey: "whatever-secret" })
      .send(new ListBucketsCommand({})), "InvalidAccessKeyId", 403);
  });

  test("an unsigned request is denied", async () => {
    const r = await fetch(`${stoa.endpoint}/${bucket}/docs/hello.txt`);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /<Code>AccessDenied<\/Code>/);
  });

  test("a wrong region is refused", async () => {
    await rejects(client(credentials, { region: "eu-west-1" }).send(new ListBucketsCommand({})),
                  "AuthorizationHeaderMalformed", 400);
  });

  test("path traversal keys stay inside the bucket", async () => {
    for (const key of ["../../../../etc/passwd", "../escape", "a/../../b", ".."]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "trapped" }));
      const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await get.Body.transformToString(), "trapped");
    }
    // The store's directory holds only buckets and its own folders.
    const root = join(stoa.dir, "data", "objects");
    assert.deepEqual(readdirSync(root).filter((n) => !n.startsWith(".")).sort(), ["sdk-bucket", "stoa"].filter((n) => existsSync(join(root, n))));
    assert.ok(!existsSync(join(stoa.dir, "data", "escape.o")));
  });

  test("too long keys and oversized metadata", async () => {
    await rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k".repeat(1025), Body: "x" })), "KeyTooLongError", 400);
    await rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "meta", Body: "x",
      Metadata: { big: "v".repeat(2100) } })), "MetadataTooLarge", 400);
  });
});
