namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// transformers.audio_utils.mel_filter_bank with the Slaney mel scale and Slaney area normalization (what
/// WhisperFeatureExtractor builds): triangular filters on linearly spaced FFT bins, float64.
/// </summary>
public static class MelFilterBank
{
    /// <summary>Filters as [numFrequencyBins, numMelFilters] (row-major), as transformers returns them.</summary>
    public static double[,] Slaney(int numFrequencyBins, int numMelFilters, double minFrequency, double maxFrequency, int samplingRate)
    {
        double melMin = HertzToMel(minFrequency), melMax = HertzToMel(maxFrequency);
        var filterFreqs = new double[numMelFilters + 2];
        double melStep = (melMax - melMin) / (numMelFilters + 1);
        for (int i = 0; i < filterFreqs.Length; i++)
            filterFreqs[i] = MelToHertz(i == filterFreqs.Length - 1 ? melMax : i * melStep + melMin);
        var fftFreqs = new double[numFrequencyBins];
        double fftStep = (double)(samplingRate / 2) / (numFrequencyBins - 1);
        for (int i = 0; i < numFrequencyBins; i++)
            fftFreqs[i] = i == numFrequencyBins - 1 ? samplingRate / 2 : i * fftStep;
        var filters = new double[numFrequencyBins, numMelFilters];
        for (int m = 0; m < numMelFilters; m++)
        {
            double lowerDiff = filterFreqs[m + 1] - filterFreqs[m], upperDiff = filterFreqs[m + 2] - filterFreqs[m + 1];
            double enorm = 2.0 / (filterFreqs[m + 2] - filterFreqs[m]);
            for (int f = 0; f < numFrequencyBins; f++)
            {
                double down = -(filterFreqs[m] - fftFreqs[f]) / lowerDiff;
                double up = (filterFreqs[m + 2] - fftFreqs[f]) / upperDiff;
                filters[f, m] = Math.Max(0.0, Math.Min(down, up)) * enorm;
            }
        }
        return filters;
    }

    const double MinLogHertz = 1000.0, MinLogMel = 15.0;
    static readonly double LogStep = 27.0 / Math.Log(6.4);

    public static double HertzToMel(double freq) =>
        freq >= MinLogHertz ? MinLogMel + Math.Log(freq / MinLogHertz) * LogStep : 3.0 * freq / 200.0;

    public static double MelToHertz(double mel) =>
        mel >= MinLogMel ? MinLogHertz * Math.Exp((mel - MinLogMel) / LogStep) : 200.0 * mel / 3.0;
}
