namespace Pipeline.Streams.Queue;

/// <summary>AMQP topic matching: words separated by '.', '*' matches one word, '#' zero or more.</summary>
public static class TopicPattern
{
    public static bool Matches(string pattern, string routingKey) => Match(pattern.Split('.'), 0, routingKey.Split('.'), 0);

    static bool Match(string[] p, int i, string[] k, int j)
    {
        if (i == p.Length) return j == k.Length;
        if (p[i] == "#")
        {
            for (int skip = j; skip <= k.Length; skip++)
                if (Match(p, i + 1, k, skip)) return true;
            return false;
        }
        if (j == k.Length) return false;
        return (p[i] == "*" || p[i] == k[j]) && Match(p, i + 1, k, j + 1);
    }
}
