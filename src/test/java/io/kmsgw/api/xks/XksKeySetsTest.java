package io.kmsgw.api.xks;

import static io.kmsgw.testing.XksClient.metadata;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.hsm.pkcs11.TestKeys;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.XksClient;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #15, item 3: each XKS endpoint serves only the keys it was given (its {@code keys}, or with
 * {@code tagged_keys} the keys tagged {@code kmsgw:xks-endpoint=<its name>}); any other key is the spec's
 * KeyNotFoundException (404). Real SoftHSM2 token, real HTTP, the AWS SDK's signer.
 */
class XksKeySetsTest {
  static final String AKID = "ABCDEFGHIJKLMNOPQRST2345";
  static final String SECRET = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";
  static final String MD = "{" + metadata("DescribeKey") + "}";

  static KmsFixture fx;
  static Vertx vertx;
  static XksClient listing;
  static XksClient tagging;
  static XksClient other;
  static KeyRecord listed;
  static KeyRecord notGiven;

  static XksSettings.Endpoint endpoint(String name, Set<String> keys, List<String> labels, boolean tagged) {
    return new XksSettings.Endpoint(name, name, "default", "us-east-1", "kms-xks-proxy", keys, labels, tagged, null,
        List.of(new XksSettings.Credential(AKID, SECRET)), false);
  }

  @BeforeAll
  static void start() throws Exception {
    fx = new KmsFixture("xks-key-sets");
    listed = fx.newKey();
    notGiven = fx.newKey();
    TestKeys.generateAes(fx.keyStore.hsm(ErrorCode.KMS_INTERNAL), "xks-operator", 32, true, true);
    // "listing" names one key and every label; "tagging" serves keys tagged for it; "other" is tagged too
    List<XksEndpoint> endpoints = List.of(
        XksEndpoint.of(endpoint("listing", Set.of(listed.keyId().toString()), List.of("*"), false), List.of(),
            Clock.systemUTC()),
        XksEndpoint.of(endpoint("tagging", Set.of(), List.of(), true), List.of(), Clock.systemUTC()),
        XksEndpoint.of(endpoint("other", Set.of(), List.of(), true), List.of(), Clock.systemUTC()));
    XksApi api = new XksApi(endpoints, new ExternalKeyService(fx.keys, fx.aliases, fx.stores, false),
        id -> new XksApi.EkmInfo("SoftHSM2", "SoftHSM2 test token"), 1, Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null), null,
        null, () -> new GatewayHttpServer.Health(true, Map.of())).mount(api);
    vertx.deployVerticle(server).await(30, TimeUnit.SECONDS);
    String root = "http://127.0.0.1:" + server.actualPort();
    listing = new XksClient(URI.create(root + "/listing"), AKID, SECRET);
    tagging = new XksClient(URI.create(root + "/tagging"), AKID, SECRET);
    other = new XksClient(URI.create(root + "/other"), AKID, SECRET);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    fx.close();
  }

  static void assertKeyNotFound(XksClient.Response r) {
    assertEquals(404, r.status(), r.raw());
    assertEquals("KeyNotFoundException", r.errorName(), r.raw());
  }

  @Test
  void aSymmetricKeyNoEndpointWasGiven_isKeyNotFound_onEveryEndpoint() throws Exception {
    for (XksClient c : List.of(listing, tagging, other)) {
      assertKeyNotFound(c.post("/keys/" + notGiven.keyId() + "/metadata", MD));
      assertKeyNotFound(c.post("/keys/" + notGiven.keyId() + "/encrypt", "{" + metadata("Encrypt")
          + ",\"plaintext\":\"AAAA\",\"encryptionAlgorithm\":\"AES_GCM\"}"));
    }
  }

  @Test
  void aListedKey_isServedByItsEndpointOnly() throws Exception {
    assertEquals(200, listing.post("/keys/" + listed.keyId() + "/metadata", MD).status());
    assertKeyNotFound(tagging.post("/keys/" + listed.keyId() + "/metadata", MD));
  }

  @Test
  void aTaggedKey_isServedByTheEndpointItsTagNames_untilTheTagIsRemoved() throws Exception {
    KeyRecord key = fx.newKey();
    KmsFixture.await(fx.lifecycle.tag(KmsFixture.ROOT, key.keyId(),
        List.of(new Tag(XksSettings.ENDPOINT_TAG, "tagging"))));
    assertEquals(200, tagging.post("/keys/" + key.keyId() + "/metadata", MD).status());
    assertKeyNotFound(other.post("/keys/" + key.keyId() + "/metadata", MD));
    // an endpoint without tagged_keys ignores the tag, even one naming it
    assertKeyNotFound(listing.post("/keys/" + key.keyId() + "/metadata", MD));

    KmsFixture.await(fx.lifecycle.untag(KmsFixture.ROOT, key.keyId(), List.of(XksSettings.ENDPOINT_TAG)));
    assertKeyNotFound(tagging.post("/keys/" + key.keyId() + "/metadata", MD));
  }

  @Test
  void anAliasName_isServedOnlyWhenItsKeyWasGiven() throws Exception {
    KmsFixture.await(fx.aliases.create(KmsFixture.ROOT, "alias/not-given", notGiven.keyId()));
    KmsFixture.await(fx.aliases.create(KmsFixture.ROOT, "alias/listed", listed.keyId()));
    assertKeyNotFound(listing.post("/keys/not-given/metadata", MD));
    assertEquals(200, listing.post("/keys/listed/metadata", MD).status());
  }

  @Test
  void theGatewaysOwnHsmObjects_areNeverServedByLabel_evenUnderAStar() throws Exception {
    assertEquals(200, listing.post("/keys/xks-operator/metadata", MD).status());
    // the deep health check's key exists once a round trip has run
    KmsFixture.await(new ExternalKeyService(fx.keys, fx.aliases, fx.stores, false).probe("default"));
    assertKeyNotFound(listing.post("/keys/" + ExternalKeyService.HEALTH_KEY_LABEL + "/metadata", MD));
  }
}
