import Foundation

/// Where the shell gets the time: the loop's schedule, the journal's wall-clock stamps, recovery's
/// in-flight wait, verification, leader election's lease times and notifications all ask one clock,
/// so a test or the benchmark can run a day in fast time with a manual one.
public protocol TimeSource: Sendable {
    /// Seconds since the Unix epoch.
    func now() -> Double
    /// Waits `seconds` of this clock's time: a manual clock's sleep ends when the clock is moved past it.
    func sleep(for seconds: Double) async throws
}

/// The wall clock: the only place Trimtab reads the system's time.
public struct SystemClock: TimeSource {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
    public func sleep(for seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
    }
}

/// A clock that moves only when told to: for tests and fast time, never the wall clock. A sleep on it
/// waits until `advance` or `set` has moved the clock past its deadline (or the task is cancelled),
/// so a test drives a daemon cycle by cycle without waiting on the wall clock.
public final class ManualClock: TimeSource, @unchecked Sendable {
    // @unchecked: every field is only touched under `lock`.
    private let lock = NSLock()
    private var time: Double
    private var sleepers: [UInt64: (deadline: Double, continuation: CheckedContinuation<Void, any Error>)] = [:]
    private var cancelled: Set<UInt64> = []
    private var nextID: UInt64 = 0

    public init(start: Double) {
        time = start
    }

    public func now() -> Double {
        lock.lock()
        defer { lock.unlock() }
        return time
    }

    /// How many sleeps wait on this clock now.
    public var waiting: Int {
        lock.lock()
        defer { lock.unlock() }
        return sleepers.count
    }

    /// Moves the clock on by `seconds` (never back), waking the sleeps that are due.
    public func advance(by seconds: Double) {
        lock.lock()
        let target = time + max(0, seconds)
        lock.unlock()
        set(target)
    }

    /// Sets the clock to `time`, if that is not in its past, waking the sleeps that are due.
    public func set(_ time: Double) {
        lock.lock()
        self.time = max(self.time, time)
        let due = sleepers.filter { $0.value.deadline <= self.time }
        for id in due.keys { sleepers[id] = nil }
        lock.unlock()
        for sleeper in due.values { sleeper.continuation.resume() }
    }

    public func sleep(for seconds: Double) async throws {
        let (deadline, id) = lock.withLock { () -> (Double, UInt64) in
            nextID += 1
            return (time + max(0, seconds), nextID)
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if cancelled.remove(id) != nil {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if time >= deadline {
                    lock.unlock()
                    continuation.resume()
                } else {
                    sleepers[id] = (deadline, continuation)
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let sleeper = sleepers.removeValue(forKey: id)
            if sleeper == nil { cancelled.insert(id) }
            lock.unlock()
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}

/// The one rule for the evaluation time in every mode: the step grid. A cycle at 12:00:07 with a 30 s
/// step evaluates at 12:00:00, so each cycle's points are the ones a fresh read at that time returns,
/// and `analyze --at now`, `trimtab run` and `report` judge the same moment the same way.
public enum EvaluationTime {
    public static func onGrid(_ time: Double, step: Double) -> Double {
        guard step > 0 else { return time.rounded(.down) }
        return (time / step).rounded(.down) * step
    }
}
