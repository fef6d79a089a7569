package io.kmsgw.api.cloudtrail;

import io.kmsgw.api.kms.JsonBody;
import io.kmsgw.audit.AuditLookup;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.policy.PolicyEvaluator;
import io.kmsgw.policy.Principal;
import io.kmsgw.policy.RequestContext;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * CloudTrail's JSON 1.1 API over the gateway's audit trail (cloudtrail-service-2.json: target prefix
 * {@code com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101}, signing name {@code cloudtrail}), of which it
 * serves LookupEvents alone. Knows nothing of HTTP.
 *
 * <p>Authorization is by identity policy alone, like IAM's actions: {@code cloudtrail:LookupEvents} on {@code *};
 * the account root may. The trail is the gateway account's: principals of other accounts are refused.
 *
 * <p>The lookup reads files, so it runs on a small worker pool of its own ({@link #POOL_THREADS} threads, a queue of
 * {@link #POOL_QUEUE}; more waiting requests are refused with ThrottlingException, as CloudTrail limits LookupEvents
 * to a few calls a second), never on an event loop.
 */
public final class CloudTrailApi {
  public static final String TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
  public static final String SIGNING_NAME = "cloudtrail";
  public static final String LOOKUP_EVENTS = "LookupEvents";
  static final String ACTION = "cloudtrail:LookupEvents";
  static final int POOL_THREADS = 2;
  static final int POOL_QUEUE = 32;

  private final String accountId;
  private final String region;
  private final AuditLookup lookup;
  private final IdentityPolicies policies;
  private final SigV4Verifier verifier;
  private final Executor executor;
  private final Clock clock;
  private final NextTokens tokens;

  CloudTrailApi(String accountId, String region, AuditLookup lookup, IdentityPolicies policies,
      SigV4Verifier verifier, Executor executor, Clock clock, NextTokens tokens) {
    this.accountId = accountId;
    this.region = region;
    this.lookup = lookup;
    this.policies = policies;
    this.verifier = verifier;
    this.executor = executor;
    this.clock = clock;
    this.tokens = tokens;
  }

  /**
   * The API of the gateway's account over its trail, with its own worker pool (daemon threads) and a NextToken key
   * drawn now.
   */
  public static CloudTrailApi create(String accountId, String region, AuditLookup lookup,
      IdentityPolicies policies, SigV4Verifier verifier, Clock clock) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(POOL_THREADS, POOL_THREADS, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(POOL_QUEUE), r -> {
          Thread t = new Thread(r, "kmsgw-lookup-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    return new CloudTrailApi(accountId, region, lookup, policies, verifier, pool, clock, NextTokens.random());
  }

  /**
   * Whether a request is for this API: its target has CloudTrail's prefix, or it is signed for {@code cloudtrail}.
   */
  public static boolean handles(String target, String scopeService) {
    return (target != null && target.startsWith(TARGET_PREFIX)) || SIGNING_NAME.equals(scopeService);
  }

  /** Checks signatures for signing name {@code cloudtrail}. */
  public SigV4Verifier verifier() {
    return verifier;
  }

  /**
   * The operation a target names.
   *
   * @throws KmsException UnknownOperationException for any target but LookupEvents
   */
  public String operationName(String target) {
    if (target == null || !target.equals(TARGET_PREFIX + LOOKUP_EVENTS)) {
      throw new KmsException(ErrorCode.UNKNOWN_OPERATION, "kmsgw serves one CloudTrail operation, LookupEvents "
          + "(X-Amz-Target: " + TARGET_PREFIX + LOOKUP_EVENTS + "); see docs/api-coverage.md.");
    }
    return LOOKUP_EVENTS;
  }

  /** Runs a LookupEvents request of a verified caller; every failure ends in the returned stage. */
  public CompletionStage<Map<String, Object>> lookupEvents(Caller caller, byte[] body) {
    LookupEventsRequest request;
    AuditLookup.Position from;
    try {
      authorize(caller);
      request = LookupEventsRequest.parse(JsonBody.parseObject(body));
      from = request.nextToken() == null ? null : tokens.decode(request.nextToken(), request.filter());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (request.insight()) {
      // Insights events are CloudTrail's analysis of a trail's volume; the gateway records none
      return CompletableFuture.completedFuture(Map.of("Events", List.of()));
    }
    try {
      return CompletableFuture.supplyAsync(() -> page(request, from), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new KmsException(ErrorCode.THROTTLING,
          "Rate exceeded: too many LookupEvents requests are waiting. Retry with backoff."));
    }
  }

  /** Allows the account root and principals of the account whose policies allow cloudtrail:LookupEvents. */
  void authorize(Caller caller) {
    Instant now = clock.instant();
    RequestContext r = RequestContext.builder(Principal.of(caller.arn()), ACTION, "*")
        .put("aws:CurrentTime", DateTimeFormatter.ISO_INSTANT.format(now))
        .put("aws:EpochTime", Long.toString(now.getEpochSecond()))
        .put("aws:SourceIp", caller.scope().sourceIp())
        .put("aws:SecureTransport", Boolean.toString(caller.scope().secureTransport()))
        .put("aws:RequestedRegion", region)
        .build();
    if (!accountId.equals(caller.accountId())) {
      // the trail is this account's; another account's principal has no trail here
      throw new KmsException(ErrorCode.ACCESS_DENIED, PolicyEvaluator.Outcome.NO_IDENTITY_ALLOW.message(r));
    }
    PolicyEvaluator.Outcome outcome = PolicyEvaluator.evaluateIdentity(r, policies.of(caller));
    if (!outcome.allowed()) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, outcome.message(r));
    }
  }

  private Map<String, Object> page(LookupEventsRequest request, AuditLookup.Position from) {
    AuditLookup.Page page;
    try {
      page = lookup.lookup(request.filter(), from, request.maxResults());
    } catch (AuditLookup.InvalidPosition e) {
      throw NextTokens.invalid();
    } catch (IOException e) {
      throw new KmsException(ErrorCode.INTERNAL_FAILURE, "The audit trail could not be read. You can retry the "
          + "request.", e);
    }
    List<Map<String, Object>> events = new ArrayList<>(page.events().size());
    page.events().forEach(f -> events.add(render(f)));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("Events", events);
    if (page.next() != null) {
      out.put("NextToken", tokens.encode(page.next(), request.filter()));
    }
    return out;
  }

  /** One Event of the response (cloudtrail-service-2.json, Event); absent members are left out. */
  static Map<String, Object> render(AuditLookup.Found f) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("EventId", f.eventId());
    e.put("EventName", f.eventName());
    e.put("ReadOnly", f.readOnly());
    e.put("AccessKeyId", f.accessKeyId());
    e.put("EventTime", f.eventTime());
    e.put("EventSource", f.eventSource());
    e.put("Username", f.username());
    List<Map<String, Object>> resources = new ArrayList<>();
    for (String[] r : f.resources()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("ResourceType", r[0]);
      m.put("ResourceName", r[1]);
      resources.add(m);
    }
    e.put("Resources", resources);
    e.put("CloudTrailEvent", f.json());
    return e;
  }
}
