using System.Globalization;
using System.Text;
using Pipeline.Actors.Speech;

namespace Pipeline.Host.Http;

/// <summary>response_format srt and vtt from a transcription's segments (one segment for the whole text without timestamps).</summary>
public static class SubtitleFormats
{
    public static string Srt(TranscriptionResult r)
    {
        var sb = new StringBuilder();
        int i = 1;
        foreach (var (start, end, text) in Cues(r))
            sb.Append(i++).Append('\n').Append(Time(start, ',')).Append(" --> ").Append(Time(end, ',')).Append('\n').Append(text).Append("\n\n");
        return sb.ToString();
    }

    public static string Vtt(TranscriptionResult r)
    {
        var sb = new StringBuilder("WEBVTT\n\n");
        foreach (var (start, end, text) in Cues(r))
            sb.Append(Time(start, '.')).Append(" --> ").Append(Time(end, '.')).Append('\n').Append(text).Append("\n\n");
        return sb.ToString();
    }

    static IEnumerable<(double, double, string)> Cues(TranscriptionResult r) =>
        r.Segments.Count > 0 ? r.Segments.Select(s => (s.Start, s.End, s.Text.Trim())) : [(0.0, r.Duration, r.Text.Trim())];

    static string Time(double seconds, char separator)
    {
        var t = TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours:00}:{t.Minutes:00}:{t.Seconds:00}{separator}{t.Milliseconds:000}");
    }
}
