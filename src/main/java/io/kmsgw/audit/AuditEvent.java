package io.kmsgw.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.kmsgw.domain.Caller;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * Builds one audit event in CloudTrail's record format for KMS (eventVersion 1.08): who called, what, on which
 * key, with which outcome. The builder has setters only for fields that are never secret, and the request and
 * response are copied through allowlists, so plaintext, data keys, ciphertext, grant tokens, key store passwords
 * and XKS credentials cannot reach an event by construction: a new API member stays out until it is named here.
 *
 * <p>Like CloudTrail, the request and response member names are written in lower camel case ({@code KeyId} becomes
 * {@code keyId}, {@code AWSAccountId} becomes {@code aWSAccountId}); the keys of encryption contexts are the
 * caller's own and are copied as they are.
 */
public final class AuditEvent {
  public static final String EVENT_VERSION = "1.08";
  public static final String SOURCE = "kms.amazonaws.com";
  /** The XKS proxy API's calls: the SigV4 service name the XKS spec gives it, not an AWS service. */
  public static final String XKS_SOURCE = "kms-xks-proxy";

  /**
   * Request members that may be recorded. Each name means the same thing in every KMS operation that has it, so
   * one list serves them all. {@code Policy} is a key policy, which CloudTrail records too. Left out on purpose:
   * Plaintext, CiphertextBlob, KeyStorePassword, XksProxyAuthenticationCredential, ImportToken,
   * EncryptedKeyMaterial, GrantTokens (bearer tokens), Message, Signature, Mac, PublicKey, Recipient.
   */
  static final Set<String> REQUEST_ALLOWED = Set.of(
      "KeyId", "EncryptionContext", "EncryptionAlgorithm", "KeySpec", "KeyPairSpec", "NumberOfBytes", "KeyUsage",
      "Description", "AliasName", "TargetKeyId", "GranteePrincipal", "RetiringPrincipal", "Operations",
      "Constraints", "Name", "GrantId", "PolicyName", "Policy", "PendingWindowInDays", "CustomKeyStoreId",
      "CustomKeyStoreName", "NewCustomKeyStoreName", "CustomKeyStoreType", "CloudHsmClusterId", "Origin",
      "MultiRegion", "BypassPolicyLockoutSafetyCheck", "Tags", "TagKeys", "Limit", "Marker", "SourceKeyId",
      "DestinationKeyId", "SourceEncryptionContext", "DestinationEncryptionContext", "SourceEncryptionAlgorithm",
      "DestinationEncryptionAlgorithm", "SigningAlgorithm", "MessageType", "MacAlgorithm", "WrappingAlgorithm",
      "WrappingKeySpec", "ValidTo", "ExpirationModel", "RotationPeriodInDays", "KeyAgreementAlgorithm", "DryRun",
      "XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyVpcEndpointServiceName", "XksProxyConnectivity",
      "PrimaryRegion", "ReplicaRegion", "IncludeKeyMaterial", "KeyMaterialId", "ImportType",
      // IAM and STS (never a secret: CreateAccessKey's and AssumeRole's secrets are in responses, which are not kept)
      "UserName", "RoleName", "PolicyDocument", "AssumeRolePolicyDocument", "Path", "PathPrefix",
      "RoleArn", "RoleSessionName", "DurationSeconds", "MaxSessionDuration", "AccessKeyId", "MaxItems",
      // the XKS proxy API: the endpoint, the external key and the requestMetadata (never plaintext, AAD,
      // ciphertext, IV, tag, ciphertextMetadata or the CDIV)
      "XksEndpoint", "ExternalKeyId", "KmsRequestId", "KmsOperation", "AwsPrincipalArn", "KmsKeyArn",
      "KmsViaService", "AwsSourceVpc", "AwsSourceVpce");

  /** Members whose value is a map chosen by the caller: copied without renaming its keys. */
  private static final Set<String> VERBATIM_MAPS = Set.of("EncryptionContext", "SourceEncryptionContext",
      "DestinationEncryptionContext", "EncryptionContextSubset", "EncryptionContextEquals");

  /** Response members recorded per operation, where CloudTrail records them; none for every other operation. */
  static final Map<String, Set<String>> RESPONSE_ALLOWED = Map.of(
      "CreateKey", Set.of("KeyMetadata"),
      "ReplicateKey", Set.of("ReplicaKeyMetadata"),
      "ScheduleKeyDeletion", Set.of("KeyId", "DeletionDate", "KeyState", "PendingWindowInDays"),
      "CancelKeyDeletion", Set.of("KeyId"),
      "CreateGrant", Set.of("GrantId"),
      "CreateCustomKeyStore", Set.of("CustomKeyStoreId"));

  /** Operations CloudTrail marks readOnly (they change no resource). */
  private static final Set<String> READ_ONLY = Set.of("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
      "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
      "GenerateRandom", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "GetParametersForImport");

  // compiled once: String.matches compiles its pattern on every call, and every request builds an event
  private static final java.util.regex.Pattern EVENT_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9]{1,128}");
  private static final java.util.regex.Pattern EVENT_SOURCE =
      java.util.regex.Pattern.compile("[a-z0-9-]{1,32}\\.amazonaws\\.com");

  private AuditEvent() {}

  /** An event for an API call, refused and failed ones included. */
  public static Builder apiCall(String eventName) {
    return new Builder(eventName, "AwsApiCall");
  }

  /** An event for something the gateway did by itself (rotation, deletion, key store state, start and stop). */
  public static Builder serviceEvent(String eventName) {
    return new Builder(eventName, "AwsServiceEvent");
  }

  static boolean readOnlyByDefault(String eventName) {
    return READ_ONLY.contains(eventName) || eventName.startsWith("Describe") || eventName.startsWith("List")
        || eventName.startsWith("Get");
  }

  /** A member name as CloudTrail writes it: the first letter in lower case. */
  static String camel(String name) {
    return name.isEmpty() ? name : Character.toLowerCase(name.charAt(0)) + name.substring(1);
  }

  public static final class Builder {
    private final String eventName;
    private final String eventType;
    private Instant time;
    private Caller caller;
    private String region;
    private String sourceIp;
    private String userAgent;
    // the caller's maps, filtered through the allowlists while the event is written: no copy is made
    private Map<String, Object> request;
    private Map<String, Object> response;
    private String errorCode;
    private String errorMessage;
    private String requestId;
    private String eventId;
    private Boolean readOnly;
    private final List<String> keyArns = new ArrayList<>(2);
    private String recipientAccountId;
    private Map<String, Object> serviceEventDetails;
    private String source = SOURCE;

    private Builder(String eventName, String eventType) {
      if (eventName == null || !EVENT_NAME.matcher(eventName).matches()) {
        throw new IllegalArgumentException("an event name is letters and digits");
      }
      this.eventName = eventName;
      this.eventType = eventType;
    }

    public Builder time(Instant t) {
      this.time = t;
      return this;
    }

    /** The signed caller; for service events the account only is used. */
    public Builder caller(Caller c) {
      this.caller = c;
      return this;
    }

    public Builder region(String r) {
      this.region = r;
      return this;
    }

    public Builder sourceIp(String ip) {
      this.sourceIp = ip;
      return this;
    }

    public Builder userAgent(String ua) {
      this.userAgent = ua;
      return this;
    }

    /**
     * The request body as parsed; only allowlisted members are kept. The event is written from this map when it
     * is appended: the caller must not change it before.
     */
    public Builder requestParameters(JsonObject request) {
      this.request = request == null ? null : request.getMap();
      return this;
    }

    /** The response body; kept only for the operations and members CloudTrail records. */
    public Builder responseElements(JsonObject response) {
      this.response = response == null ? null : response.getMap();
      return this;
    }

    /** The AWS error name ({@code NotFoundException}) and the message the client got. */
    public Builder error(String code, String message) {
      this.errorCode = code;
      this.errorMessage = message;
      return this;
    }

    public Builder requestId(String id) {
      this.requestId = id;
      return this;
    }

    /** Defaults to a random UUID. */
    public Builder eventId(String id) {
      this.eventId = id;
      return this;
    }

    /** Defaults to CloudTrail's value for the operation. */
    public Builder readOnly(boolean ro) {
      this.readOnly = ro;
      return this;
    }

    /** A key the call acted on (ReEncrypt names two), as {@code resources[]}. */
    public Builder key(String keyArn) {
      keyArns.add(Objects.requireNonNull(keyArn));
      return this;
    }

    /** The service the call was made to: {@code kms.amazonaws.com} unless set ({@code iam.amazonaws.com} ...). */
    public Builder source(String eventSource) {
      if (eventSource == null || !(EVENT_SOURCE.matcher(eventSource).matches() || XKS_SOURCE.equals(eventSource))) {
        throw new IllegalArgumentException("an event source is <service>.amazonaws.com or " + XKS_SOURCE);
      }
      this.source = eventSource;
      return this;
    }

    public Builder recipientAccountId(String account) {
      this.recipientAccountId = account;
      return this;
    }

    /** Details of a service event (string, number or boolean values: ids, states, dates, counts). */
    public Builder serviceEventDetail(String name, Object value) {
      if (!(value instanceof String || value instanceof Number || value instanceof Boolean || counts(value))) {
        throw new IllegalArgumentException("service event details are plain values (or counts by name)");
      }
      if (serviceEventDetails == null) {
        serviceEventDetails = new LinkedHashMap<>();
      }
      serviceEventDetails.put(name, value);
      return this;
    }

    /** A map of names to whole numbers: counts by name (the summary of unauthenticated refusals). */
    private static boolean counts(Object value) {
      return value instanceof Map<?, ?> m && m.entrySet().stream().allMatch(e -> e.getKey() instanceof String
          && (e.getValue() instanceof Long || e.getValue() instanceof Integer));
    }

    /** The event as a JSON object (parsed back from {@link #encode()}, so both always agree). */
    public JsonObject build() {
      return new JsonObject(encode());
    }

    /**
     * The event as one line of JSON, written field by field straight from the builder (no intermediate tree: an
     * event is written for every request, on the thread that completed it).
     */
    String encode() {
      Objects.requireNonNull(time, "time");
      StringWriter out = new StringWriter(768);
      try (JsonGenerator g = JSON.createGenerator(out)) {
        write(g);
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a StringWriter does not fail
      }
      return out.toString();
    }

    private void write(JsonGenerator g) throws IOException {
      boolean service = eventType.equals("AwsServiceEvent");
      String account = recipientAccountId != null ? recipientAccountId : caller != null ? caller.accountId() : null;
      g.writeStartObject();
      g.writeStringField("eventVersion", EVENT_VERSION);
      g.writeFieldName("userIdentity");
      if (service) {
        g.writeStartObject();
        g.writeStringField("accountId", account);
        g.writeStringField("invokedBy", SOURCE);
        g.writeEndObject();
      } else {
        writeUserIdentity(g, caller);
      }
      g.writeStringField("eventTime", eventTime(time));
      g.writeStringField("eventSource", service ? SOURCE : source);
      g.writeStringField("eventName", eventName);
      g.writeStringField("awsRegion", region);
      g.writeStringField("sourceIPAddress", service ? SOURCE : sourceIp);
      g.writeStringField("userAgent", service ? SOURCE : userAgent);
      if (errorCode != null) {
        g.writeStringField("errorCode", errorCode);
        g.writeStringField("errorMessage", errorMessage);
      }
      g.writeFieldName("requestParameters");
      writeFiltered(g, request, REQUEST_ALLOWED);
      g.writeFieldName("responseElements");
      writeFiltered(g, response, RESPONSE_ALLOWED.get(eventName));
      if (requestId != null) {
        g.writeStringField("requestID", requestId);
      }
      g.writeStringField("eventID", eventId != null ? eventId : randomId());
      g.writeBooleanField("readOnly", readOnly != null ? readOnly : readOnlyByDefault(eventName));
      g.writeArrayFieldStart("resources");
      for (String arn : keyArns) {
        g.writeStartObject();
        g.writeStringField("accountId", arnAccount(arn));
        g.writeStringField("type", "AWS::KMS::Key");
        g.writeStringField("ARN", arn);
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringField("eventType", eventType);
      g.writeBooleanField("managementEvent", true);
      g.writeStringField("recipientAccountId", account);
      if (serviceEventDetails != null) {
        g.writeFieldName("serviceEventDetails");
        writeValue(g, serviceEventDetails, false);
      }
      g.writeStringField("eventCategory", "Management");
      g.writeEndObject();
    }
  }

  private static final JsonFactory JSON = new JsonFactory();

  /** The last eventTime written: events come many per second, and formatting a date is not free. */
  private static volatile Stamp lastStamp = new Stamp(Long.MIN_VALUE, "");

  private record Stamp(long second, String text) {}

  /** CloudTrail's eventTime: UTC, whole seconds ({@code 2025-03-01T12:34:56Z}). */
  static String eventTime(Instant t) {
    Stamp s = lastStamp;
    if (s.second() != t.getEpochSecond()) {
      s = new Stamp(t.getEpochSecond(), Instant.ofEpochSecond(t.getEpochSecond()).toString());
      lastStamp = s;
    }
    return s.text();
  }

  /** The account field of an ARN ({@code arn:aws:kms:REGION:ACCOUNT:key/ID}), or null if it has none. */
  static String arnAccount(String arn) {
    int from = 0;
    for (int i = 0; i < 4; i++) {
      from = arn.indexOf(':', from) + 1;
      if (from == 0) {
        return null;
      }
    }
    int to = arn.indexOf(':', from);
    return to < 0 ? arn.substring(from) : arn.substring(from, to);
  }

  /**
   * A version-4 UUID for eventID. Unique, not secret: ThreadLocalRandom, not the shared SecureRandom behind
   * {@code UUID.randomUUID()}, which every event loop would contend for.
   */
  static String randomId() {
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }

  /** CloudTrail's userIdentity for a signed caller. */
  private static void writeUserIdentity(JsonGenerator g, Caller c) throws IOException {
    g.writeStartObject();
    if (c == null) {
      // refused before the signature check established who called
      g.writeStringField("type", "Unknown");
      g.writeEndObject();
      return;
    }
    g.writeStringField("type", c.type());
    g.writeStringField("principalId", c.principalId());
    g.writeStringField("arn", c.arn());
    g.writeStringField("accountId", c.accountId());
    if (c.accessKeyId() != null && !c.accessKeyId().isEmpty()) {
      g.writeStringField("accessKeyId", c.accessKeyId());
    }
    String arn = c.arn() == null ? "" : c.arn();
    if ("IAMUser".equals(c.type()) && arn.contains(":user/")) {
      g.writeStringField("userName", arn.substring(arn.lastIndexOf('/') + 1));
    } else if ("AssumedRole".equals(c.type()) && arn.contains(":assumed-role/")) {
      // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION: the role is the session's issuer
      String[] path = arn.substring(arn.indexOf(":assumed-role/") + ":assumed-role/".length()).split("/");
      String role = path[0];
      String principal = c.principalId() == null ? null
          : c.principalId().contains(":") ? c.principalId().substring(0, c.principalId().indexOf(':'))
          : c.principalId();
      g.writeObjectFieldStart("sessionContext");
      g.writeObjectFieldStart("sessionIssuer");
      g.writeStringField("type", "Role");
      g.writeStringField("principalId", principal);
      g.writeStringField("arn", "arn:aws:iam::" + c.accountId() + ":role/" + role);
      g.writeStringField("accountId", c.accountId());
      g.writeStringField("userName", role);
      g.writeEndObject();
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  /** The allowlisted members of a request or response, in CloudTrail's case; null if there is none. */
  private static void writeFiltered(JsonGenerator g, Map<String, Object> in, Set<String> allowed)
      throws IOException {
    if (in == null || allowed == null) {
      g.writeNull();
      return;
    }
    g.writeStartObject();
    for (Map.Entry<String, Object> m : in.entrySet()) {
      if (allowed.contains(m.getKey())) {
        g.writeFieldName(camel(m.getKey()));
        writeValue(g, m.getValue(), !VERBATIM_MAPS.contains(m.getKey()));
      }
    }
    g.writeEndObject();
  }

  /**
   * A value as vert.x would encode it; with {@code rename}, a nested structure's member names in CloudTrail's case
   * (Constraints, Tags, KeyMetadata) except inside a caller's own map (an encryption context).
   */
  @SuppressWarnings("unchecked")
  private static void writeValue(JsonGenerator g, Object v, boolean rename) throws IOException {
    if (v instanceof JsonObject o) {
      v = o.getMap();
    } else if (v instanceof JsonArray a) {
      v = a.getList();
    }
    if (v == null) {
      g.writeNull();
    } else if (v instanceof String str) {
      g.writeString(str);
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      g.writeNumber(((Number) v).longValue());
    } else if (v instanceof Map<?, ?> map) {
      g.writeStartObject();
      for (Map.Entry<String, Object> m : ((Map<String, Object>) map).entrySet()) {
        String name = m.getKey();
        g.writeFieldName(rename ? camel(name) : name);
        writeValue(g, m.getValue(), rename && !VERBATIM_MAPS.contains(name));
      }
      g.writeEndObject();
    } else if (v instanceof List<?> list) {
      g.writeStartArray();
      for (Object x : list) {
        writeValue(g, x, rename);
      }
      g.writeEndArray();
    } else {
      // anything else (dates, decimals, bytes) exactly as vert.x writes it
      g.writeRawValue(Json.encode(v));
    }
  }
}
