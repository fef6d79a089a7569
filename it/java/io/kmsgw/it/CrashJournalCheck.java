package io.kmsgw.it;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Compares one {@link CrashWorker}'s journal with what the restarted gateway shows. Every acknowledged change must be
 * there; the one request in flight at the kill may have happened or not, but wholly; nothing else of the worker's may
 * exist. The journal then takes on the outcome of the in-flight request, ready for the next cycle.
 */
final class CrashJournalCheck {
  private final CrashWorker w;
  private final CrashSnapshot s;
  private final List<String> failures;
  private final CrashWorker.Pending p;

  private CrashJournalCheck(CrashWorker w, CrashSnapshot s, List<String> failures) {
    this.w = w;
    this.s = s;
    this.failures = failures;
    this.p = w.pending();
  }

  static void check(CrashWorker w, CrashSnapshot s, List<String> failures) {
    CrashJournalCheck c = new CrashJournalCheck(w, s, failures);
    c.keys();
    c.aliases();
    c.grants();
    c.users();
    w.clearPending();
  }

  private boolean pending(String op, String target) {
    return p != null && p.op().equals(op) && (target == null || target.equals(p.target()));
  }

  private void fail(String what) {
    failures.add(w.prefix + ": " + what + " (in flight at the kill: " + p + ")");
  }

  private void forget(String keyId) {
    w.aliases.values().removeIf(keyId::equals);
    w.grants.values().removeIf(keyId::equals);
  }

  private void keys() {
    for (String id : Set.copyOf(w.keys.keySet())) {
      CrashSnapshot.Key k = s.keys().get(id);
      if (k == null) {
        if (pending("ScheduleKeyDeletion", id)) {
          w.keys.remove(id); // scheduled, then destroyed at start: the clock moved on
          forget(id);
        } else {
          fail("acknowledged key " + id + " is gone");
        }
        continue;
      }
      if (!"Enabled".equals(k.state())) {
        fail("key " + id + " is " + k.state() + ", not Enabled");
      }
      int acked = w.keys.get(id);
      if (k.rotations() != acked && !(k.rotations() == acked + 1 && pending("RotateKeyOnDemand", id))) {
        fail("key " + id + " has " + k.rotations() + " rotations, " + acked + " acknowledged");
      }
      w.keys.put(id, k.rotations());
    }
    for (String id : Set.copyOf(w.scheduled)) {
      if (s.keys().containsKey(id)) {
        fail("key " + id + " was scheduled for deletion and is due, but is still " + s.keys().get(id).state());
      } else {
        w.scheduled.remove(id);
        forget(id);
      }
    }
    for (CrashSnapshot.Key k : s.keys().values()) {
      if (k.description() == null || !k.description().startsWith(w.prefix) || w.keys.containsKey(k.id())) {
        continue;
      }
      if (pending("CreateKey", null) && p.marker().equals(k.description()) && "Enabled".equals(k.state())
          && k.rotations() == 0) {
        w.keys.put(k.id(), 0);
      } else {
        fail("key " + k.id() + " (" + k.description() + ", " + k.state() + ") was never acknowledged");
      }
    }
  }

  private void aliases() {
    for (String name : Set.copyOf(w.aliases.keySet())) {
      String actual = s.aliases().get(name);
      String acked = w.aliases.get(name);
      boolean ok = Objects.equals(actual, acked)
          || (pending("UpdateAlias", name) && Objects.equals(actual, p.marker()))
          || (pending("DeleteAlias", name) && actual == null);
      if (!ok) {
        fail("alias " + name + " points to " + actual + ", acknowledged " + acked);
      }
      if (actual == null) {
        w.aliases.remove(name);
      } else {
        w.aliases.put(name, actual);
      }
    }
    for (Map.Entry<String, String> e : s.aliases().entrySet()) {
      if (!e.getKey().startsWith("alias/" + w.prefix) || w.aliases.containsKey(e.getKey())) {
        continue;
      }
      if (pending("CreateAlias", e.getKey()) && w.keys.containsKey(e.getValue())) {
        w.aliases.put(e.getKey(), e.getValue());
      } else {
        fail("alias " + e.getKey() + " was never acknowledged");
      }
    }
  }

  private void grants() {
    for (String id : Set.copyOf(w.grants.keySet())) {
      if (!s.grants().containsKey(id)) {
        if (pending("RevokeGrant", id)) {
          w.grants.remove(id);
        } else {
          fail("acknowledged grant " + id + " on " + w.grants.get(id) + " is gone");
        }
      } else if (!s.grants().get(id).keyId().equals(w.grants.get(id))) {
        fail("grant " + id + " moved to key " + s.grants().get(id).keyId());
      }
    }
    for (CrashSnapshot.Grant g : s.grants().values()) {
      if (g.name() == null || !g.name().startsWith(w.prefix) || w.grants.containsKey(g.id())) {
        continue;
      }
      if (pending("CreateGrant", g.keyId()) && p.marker().equals(g.name())) {
        w.grants.put(g.id(), g.keyId());
      } else {
        fail("grant " + g.id() + " (" + g.name() + ") was never acknowledged");
      }
    }
  }

  private void users() {
    for (String name : Set.copyOf(w.users.keySet())) {
      CrashSnapshot.User actual = s.users().get(name);
      CrashWorker.User acked = w.users.get(name);
      if (actual == null) {
        fail("acknowledged user " + name + " is gone");
        continue;
      }
      Set<String> extra = new HashSet<>(actual.accessKeys());
      extra.removeAll(acked.accessKeys);
      Set<String> lost = new HashSet<>(acked.accessKeys);
      lost.removeAll(actual.accessKeys());
      if (!lost.isEmpty()) {
        fail("acknowledged access keys " + lost + " of " + name + " are gone");
      }
      if (!extra.isEmpty() && !(extra.size() == 1 && pending("CreateAccessKey", name))) {
        fail("access keys " + extra + " of " + name + " were never acknowledged");
      }
      acked.accessKeys.addAll(extra);
      String want = acked.policyMarker == null ? null : sid(acked.policyMarker);
      boolean ok = Objects.equals(actual.policyMarker(), want)
          || (pending("PutUserPolicy", name) && sid(p.marker()).equals(actual.policyMarker()));
      if (!ok) {
        fail("user " + name + " has policy " + actual.policyMarker() + ", acknowledged " + want);
      }
      if (pending("PutUserPolicy", name) && sid(p.marker()).equals(actual.policyMarker())) {
        acked.policyMarker = p.marker();
      }
    }
    for (Map.Entry<String, CrashSnapshot.User> e : s.users().entrySet()) {
      if (!e.getKey().startsWith(w.prefix) || w.users.containsKey(e.getKey())) {
        continue;
      }
      if (pending("CreateUser", e.getKey()) && e.getValue().accessKeys().isEmpty()
          && e.getValue().policyMarker() == null) {
        w.users.put(e.getKey(), new CrashWorker.User());
      } else {
        fail("user " + e.getKey() + " was never acknowledged");
      }
    }
  }

  private static String sid(String marker) {
    return marker.replace("-", "");
  }
}
