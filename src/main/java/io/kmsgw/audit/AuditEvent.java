package io.kmsgw.audit;

import io.kmsgw.domain.Caller;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
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
      "RoleArn", "RoleSessionName", "DurationSeconds", "MaxSessionDuration", "AccessKeyId", "MaxItems");

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
      "GenerateRandom", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret");

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
    private JsonObject requestParameters;
    private JsonObject responseElements;
    private String errorCode;
    private String errorMessage;
    private String requestId;
    private String eventId;
    private Boolean readOnly;
    private final JsonArray resources = new JsonArray();
    private String recipientAccountId;
    private JsonObject serviceEventDetails;
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

    /** The request body as parsed; only allowlisted members are kept. */
    public Builder requestParameters(JsonObject request) {
      this.requestParameters = request == null ? null : filter(request, REQUEST_ALLOWED);
      return this;
    }

    /** The response body; kept only for the operations and members CloudTrail records. */
    public Builder responseElements(JsonObject response) {
      Set<String> allowed = RESPONSE_ALLOWED.get(eventName);
      this.responseElements = response == null || allowed == null ? null : filter(response, allowed);
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
      Objects.requireNonNull(keyArn);
      String[] parts = keyArn.split(":", 6);
      resources.add(new JsonObject()
          .put("accountId", parts.length > 4 ? parts[4] : null)
          .put("type", "AWS::KMS::Key")
          .put("ARN", keyArn));
      return this;
    }

    /** The service the call was made to: {@code kms.amazonaws.com} unless set ({@code iam.amazonaws.com} ...). */
    public Builder source(String eventSource) {
      if (eventSource == null || !EVENT_SOURCE.matcher(eventSource).matches()) {
        throw new IllegalArgumentException("an event source is <service>.amazonaws.com");
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
      if (!(value instanceof String || value instanceof Number || value instanceof Boolean)) {
        throw new IllegalArgumentException("service event details are plain values");
      }
      if (serviceEventDetails == null) {
        serviceEventDetails = new JsonObject();
      }
      serviceEventDetails.put(name, value);
      return this;
    }

    public JsonObject build() {
      Objects.requireNonNull(time, "time");
      boolean service = eventType.equals("AwsServiceEvent");
      String account = recipientAccountId != null ? recipientAccountId : caller != null ? caller.accountId() : null;
      JsonObject e = new JsonObject().put("eventVersion", EVENT_VERSION);
      e.put("userIdentity", service ? serviceIdentity(account) : userIdentity(caller));
      e.put("eventTime", time.truncatedTo(ChronoUnit.SECONDS).toString());
      e.put("eventSource", service ? SOURCE : source);
      e.put("eventName", eventName);
      e.put("awsRegion", region);
      e.put("sourceIPAddress", service ? SOURCE : sourceIp);
      e.put("userAgent", service ? SOURCE : userAgent);
      if (errorCode != null) {
        e.put("errorCode", errorCode);
        e.put("errorMessage", errorMessage);
      }
      e.put("requestParameters", requestParameters);
      e.put("responseElements", responseElements);
      if (requestId != null) {
        e.put("requestID", requestId);
      }
      e.put("eventID", eventId != null ? eventId : randomId());
      e.put("readOnly", readOnly != null ? readOnly : readOnlyByDefault(eventName));
      e.put("resources", resources.copy());
      e.put("eventType", eventType);
      e.put("managementEvent", true);
      e.put("recipientAccountId", account);
      if (serviceEventDetails != null) {
        e.put("serviceEventDetails", serviceEventDetails.copy());
      }
      e.put("eventCategory", "Management");
      return e;
    }
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

  private static JsonObject serviceIdentity(String account) {
    return new JsonObject().put("accountId", account).put("invokedBy", SOURCE);
  }

  /** CloudTrail's userIdentity for a signed caller. */
  static JsonObject userIdentity(Caller c) {
    if (c == null) {
      // refused before the signature check established who called
      return new JsonObject().put("type", "Unknown");
    }
    JsonObject u = new JsonObject()
        .put("type", c.type())
        .put("principalId", c.principalId())
        .put("arn", c.arn())
        .put("accountId", c.accountId());
    if (c.accessKeyId() != null && !c.accessKeyId().isEmpty()) {
      u.put("accessKeyId", c.accessKeyId());
    }
    String arn = c.arn() == null ? "" : c.arn();
    if ("IAMUser".equals(c.type()) && arn.contains(":user/")) {
      u.put("userName", arn.substring(arn.lastIndexOf('/') + 1));
    } else if ("AssumedRole".equals(c.type()) && arn.contains(":assumed-role/")) {
      // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION: the role is the session's issuer
      String[] path = arn.substring(arn.indexOf(":assumed-role/") + ":assumed-role/".length()).split("/");
      String role = path[0];
      String principal = c.principalId() == null ? null
          : c.principalId().contains(":") ? c.principalId().substring(0, c.principalId().indexOf(':'))
          : c.principalId();
      u.put("sessionContext", new JsonObject().put("sessionIssuer", new JsonObject()
          .put("type", "Role")
          .put("principalId", principal)
          .put("arn", "arn:aws:iam::" + c.accountId() + ":role/" + role)
          .put("accountId", c.accountId())
          .put("userName", role)));
    }
    return u;
  }

  private static JsonObject filter(JsonObject in, Set<String> allowed) {
    JsonObject out = new JsonObject();
    for (String name : in.fieldNames()) {
      if (allowed.contains(name)) {
        Object v = in.getValue(name);
        out.put(camel(name), VERBATIM_MAPS.contains(name) ? copy(v) : renamed(v));
      }
    }
    return out;
  }

  /** A nested structure (Constraints, Tags, KeyMetadata) with its member names in CloudTrail's case. */
  private static Object renamed(Object v) {
    if (v instanceof JsonObject o) {
      JsonObject out = new JsonObject();
      for (String name : o.fieldNames()) {
        Object child = o.getValue(name);
        out.put(camel(name), VERBATIM_MAPS.contains(name) ? copy(child) : renamed(child));
      }
      return out;
    }
    if (v instanceof JsonArray a) {
      JsonArray out = new JsonArray();
      a.forEach(x -> out.add(renamed(x)));
      return out;
    }
    return v;
  }

  private static Object copy(Object v) {
    if (v instanceof JsonObject o) {
      return o.copy();
    }
    if (v instanceof JsonArray a) {
      return a.copy();
    }
    return v;
  }
}
