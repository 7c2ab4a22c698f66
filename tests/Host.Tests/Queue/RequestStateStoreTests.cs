using System.Text;
using Microsoft.Data.Sqlite;
using Pipeline.Host.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>The SQLite request state: what survives a reopen, the retention limit, and final-only versus every event.</summary>
public class RequestStateStoreTests
{
    static string NewDb() => Path.Combine(Directory.CreateTempSubdirectory("state").FullName, "state.db");
    static (int, byte[]) E(int seq, string text) => (seq, Encoding.UTF8.GetBytes(text));

    [Fact]
    public void FinishedIdsAndFinalsSurviveAReopen_DeltasOnlyWhenAskedFor()
    {
        var db = NewDb();
        using (var s = new RequestStateStore(db))
        {
            s.MarkFinished("a", [E(0, "d0"), E(1, "d1"), E(2, "final-a")]);
            s.MarkFinished("a", [E(0, "other")]); // a second mark of the same id changes nothing
        }
        using (var s = new RequestStateStore(db, keepDeltas: true))
        {
            Assert.True(s.IsFinished("a"));
            Assert.False(s.IsFinished("b"));
            Assert.Null(s.Stored("b"));
            var a = s.Stored("a")!;
            Assert.Equal([(2, "final-a")], a.Select(e => (e.Seq, Encoding.UTF8.GetString(e.Body))));
            s.MarkFinished("b", [E(0, "d0"), E(1, "final-b")]);
            Assert.Equal([0, 1], s.Stored("b")!.Select(e => e.Seq));
        }
        // Written by another reader's standards: plain SQLite.
        using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM finished";
        Assert.Equal(2L, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void TheRetentionLimitDropsTheOldestFirst()
    {
        using var s = new RequestStateStore(NewDb(), retention: 100);
        for (int i = 0; i < 300; i++) s.MarkFinished($"r{i}", [E(0, $"final-{i}")]);
        s.TrimNow();
        Assert.Equal(100, s.Count);
        Assert.False(s.IsFinished("r199"));
        Assert.True(s.IsFinished("r200"));
        Assert.Null(s.Stored("r0"));
        Assert.Equal("final-299", Encoding.UTF8.GetString(s.Stored("r299")![0].Body));
    }
}
