import Logging
import TrimtabCycle
import TrimtabKube

extension ControlLoop {
    /// Takes or keeps the lead every retry period until cancelled.
    static func elect(_ election: any LeaderElection, board: StatusBoard, metrics: DaemonMetrics, logger: Logger, retry: Double,
                      clock: any TimeSource) async {
        var wasLeading = false
        var lastProblem: String?
        while !Task.isCancelled {
            let leading = await election.attempt()
            let holder = await election.holder
            let problem = await election.lastProblem
            await board.setLeader(leading, holder: holder)
            metrics.leader.record(leading ? 1 : 0)
            if leading != wasLeading {
                if leading {
                    logger.notice("became the leader: this process now acts on the cluster", metadata: ["identity": "\(election.identity)"])
                } else {
                    logger.warning("not the leader: assessing only", metadata: ["leader": "\(holder ?? "unknown")",
                                                                                 "reason": "\(problem ?? "")"])
                }
                wasLeading = leading
            }
            if problem != lastProblem, let problem, !leading {
                logger.debug("leader election", metadata: ["detail": "\(problem)"])
            }
            lastProblem = problem
            try? await clock.sleep(for: retry)
        }
    }
}
