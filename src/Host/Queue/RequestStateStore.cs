using Microsoft.Data.Sqlite;

namespace Pipeline.Host.Queue;

/// <summary>
/// Durable request state in SQLite (--state-db FILE): the ids of finished queue requests with their final event (and,
/// with --state-keep-deltas, every event), the most recent <c>retention</c> of them. Written before a message is
/// acknowledged, so a Pipeline restarted after a crash (kill -9 included) acknowledges a redelivered finished request
/// without running it and replays GET /v1/streams/{id} for requests finished before the restart. WAL journal with full
/// sync: a row that was committed survives a process crash and a power loss. Thread-safe (one connection, one lock).
/// </summary>
public sealed class RequestStateStore : IDisposable
{
    readonly SqliteConnection _db;
    readonly object _gate = new();
    readonly int _retention;
    int _sinceTrim;

    public bool KeepDeltas { get; }
    public string Path { get; }

    public RequestStateStore(string path, int retention = 100_000, bool keepDeltas = false)
    {
        if (retention < 1) throw new ArgumentOutOfRangeException(nameof(retention), retention, "--state-retention must be at least 1");
        Path = path;
        _retention = retention;
        KeepDeltas = keepDeltas;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;" +
             "CREATE TABLE IF NOT EXISTS finished (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, finished_at INTEGER NOT NULL);" +
             "CREATE TABLE IF NOT EXISTS events (request_id TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (request_id, seq)) WITHOUT ROWID;");
    }

    public int Count
    {
        get { lock (_gate) return Convert.ToInt32(Scalar("SELECT COUNT(*) FROM finished")); }
    }

    public bool IsFinished(string requestId)
    {
        lock (_gate) return IsFinishedUnlocked(requestId);
    }

    /// <summary>The stored events (seq, body) of a finished request in seq order (only its final unless deltas are kept); null if unknown.</summary>
    public IReadOnlyList<(int Seq, byte[] Body)>? Stored(string requestId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT seq, body FROM events WHERE request_id = $id ORDER BY seq";
            cmd.Parameters.AddWithValue("$id", requestId);
            var list = new List<(int, byte[])>();
            using (var r = cmd.ExecuteReader())
                while (r.Read()) list.Add((r.GetInt32(0), (byte[])r[1]));
            if (list.Count > 0) return list;
            return IsFinishedUnlocked(requestId) ? list : null;
        }
    }

    /// <summary>Records a request as finished with its events (seq, body), all in one transaction, then trims to the retention.</summary>
    public void MarkFinished(string requestId, IReadOnlyList<(int Seq, byte[] Body)> events)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR IGNORE INTO finished (request_id, finished_at) VALUES ($id, $t)";
                cmd.Parameters.AddWithValue("$id", requestId);
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                if (cmd.ExecuteNonQuery() == 0) { tx.Commit(); return; }
            }
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR REPLACE INTO events (request_id, seq, body) VALUES ($id, $seq, $body)";
                var id = cmd.Parameters.Add("$id", SqliteType.Text);
                var seq = cmd.Parameters.Add("$seq", SqliteType.Integer);
                var body = cmd.Parameters.Add("$body", SqliteType.Blob);
                foreach (var e in KeepDeltas ? events : events.TakeLast(1))
                {
                    id.Value = requestId;
                    seq.Value = e.Seq;
                    body.Value = e.Body;
                    cmd.ExecuteNonQuery();
                }
            }
            if (++_sinceTrim >= 256) { _sinceTrim = 0; Trim(tx); }
            tx.Commit();
        }
    }

    void Trim(SqliteTransaction tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText =
            "DELETE FROM events WHERE request_id IN (SELECT request_id FROM finished WHERE seq <= (SELECT MAX(seq) FROM finished) - $keep);" +
            "DELETE FROM finished WHERE seq <= (SELECT MAX(seq) FROM finished) - $keep;";
        cmd.Parameters.AddWithValue("$keep", _retention);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Trims to the retention now (it is otherwise done every 256 requests).</summary>
    public void TrimNow()
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            Trim(tx);
            tx.Commit();
        }
    }

    bool IsFinishedUnlocked(string requestId)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM finished WHERE request_id = $id";
        cmd.Parameters.AddWithValue("$id", requestId);
        return cmd.ExecuteScalar() != null;
    }

    void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    object? Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
