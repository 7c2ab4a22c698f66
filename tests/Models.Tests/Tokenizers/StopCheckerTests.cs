using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

public class StopCheckerTests
{
    public static TheoryData<string, int, bool> LongCases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var n in Fixtures.Names)
        {
            var f = Fixtures.File(n);
            for (int i = 0; i < f.Cases.Count; i++)
            {
                if (f.Cases[i].Decode.Length < 8) continue;
                data.Add(n, i, false);
                data.Add(n, i, true);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LongCases))]
    public void StopStringFromTheMiddleCutsAtFirstOccurrence(string name, int index, bool include)
    {
        var c = Fixtures.Case(name, index);
        var tok = Fixtures.Tokenizer(name);
        string full = c.Decode;
        int mid = full.Length / 2;
        if (char.IsLowSurrogate(full[mid])) mid--;
        string stop = full.Substring(mid, Math.Min(4, full.Length - mid));
        int cut = full.IndexOf(stop, StringComparison.Ordinal);
        string expected = include ? full[..(cut + stop.Length)] : full[..cut];

        var detok = new IncrementalDetokenizer(tok, [], skipSpecialTokens: false);
        var checker = new StopChecker([stop], include);
        var emitted = new System.Text.StringBuilder();
        var seen = new System.Text.StringBuilder();
        bool stopped = false;
        foreach (int id in c.IdsWithoutSpecial)
        {
            string delta = detok.Append(id);
            seen.Append(delta);
            var r = checker.Append(delta);
            emitted.Append(r.Emit);
            Assert.StartsWith(emitted.ToString(), expected, StringComparison.Ordinal);
            if (r.Stopped) { stopped = true; Assert.Equal(expected, r.Output); break; }
            // Only a tail that could still begin the stop string may be held back.
            Assert.True(emitted.Length >= seen.Length - (stop.Length - 1), "held back more than a possible stop-string prefix");
        }
        Assert.True(stopped);
        Assert.Equal(expected, emitted.ToString());
        Assert.Equal(expected, checker.Output);
        Assert.Equal(stop, checker.MatchedStopString);
    }

    [Fact]
    public void StopStringSplitAcrossDeltasIsHeldBackThenCut()
    {
        var checker = new StopChecker(["</end>"], false);
        Assert.Equal(new StopCheckResult("abc", false, "abc</"), checker.Append("abc</"));
        Assert.Equal(new StopCheckResult("", false, "abc</en"), checker.Append("en"));
        Assert.Equal(new StopCheckResult("", true, "abc"), checker.Append("d>xyz"));
        Assert.Equal(new StopCheckResult("", true, "abc"), checker.Append("more"));
    }

    [Fact]
    public void IncludeStopStringKeepsIt()
    {
        var checker = new StopChecker(["STOP"], true);
        Assert.Equal("x", checker.Append("xST").Emit);
        var r = checker.Append("OPtail");
        Assert.True(r.Stopped);
        Assert.Equal("STOP", r.Emit);
        Assert.Equal("xSTOP", r.Output);
    }

    [Fact]
    public void FalseStartIsReleasedAndFlushReleasesTheRest()
    {
        var checker = new StopChecker(["</end>", "###"], false);
        Assert.Equal("a", checker.Append("a</").Emit);
        Assert.Equal("</b", checker.Append("b").Emit);
        Assert.Equal("c", checker.Append("c##").Emit);
        Assert.Equal("##", checker.Flush());
        Assert.False(checker.Stopped);
    }

    [Fact]
    public void EarliestOfSeveralStopStringsWins()
    {
        var checker = new StopChecker(["world", "lo"], false);
        var r = checker.Append("hello world");
        Assert.True(r.Stopped);
        Assert.Equal("hel", r.Output);
        Assert.Equal("lo", checker.MatchedStopString);
    }
}
