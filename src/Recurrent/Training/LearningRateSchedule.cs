using System.Text.Json;

namespace Recurrent.Training;

/// <summary>
/// How the learning rate moves during training: the optimizer's rate at a step is lr × Factor.
///   constant: 1.
///   step:     char-rnn's -learning_rate_decay: at the end of every epoch from epoch <see cref="DecayAfter"/> on, the
///             rate is multiplied by <see cref="Decay"/> (0.97 and 10 by default, as char-rnn), so
///             Factor = Decay^(number of whole epochs k with max(1, DecayAfter) ≤ k ≤ epoch).
///   cosine:   from 1 down to <see cref="MinFactor"/> along half a cosine over the run, Factor = m + (1 − m)(1 + cos πp)/2,
///             where p is how far the run is towards its limit (steps, epochs or seconds, whichever is nearest), so a
///             run limited by time anneals to its end wherever that falls (and is then not bit-reproducible, as time
///             is not; limited by steps or epochs it is).
/// Every kind may start with a linear warm-up over <see cref="Warmup"/> steps: Factor × (step + 1)/Warmup.
/// A function of the step and the run's progress only, so a resumed run continues the schedule where it was.
/// </summary>
public sealed record LearningRateSchedule(string Kind = "constant", double Decay = 0.97, double DecayAfter = 10,
    long Warmup = 0, double MinFactor = 0)
{
    /// <summary>The schedule kinds <see cref="Kind"/> may name.</summary>
    public static readonly string[] Kinds = ["constant", "step", "cosine"];

    /// <summary>True when <see cref="Factor"/> is always 1: constant, without warm-up.</summary>
    public bool IsConstant => Kind == "constant" && Warmup == 0;

    /// <param name="step">optimizer steps taken before this one.</param>
    /// <param name="epoch">epochs done before this step (step / steps per epoch).</param>
    /// <param name="runFraction">how far the run is towards its nearest limit, in [0, 1].</param>
    public double Factor(long step, double epoch, double runFraction)
    {
        double factor = Kind switch
        {
            "step" => Math.Pow(Decay, Math.Max(0, Math.Floor(epoch + 1e-9) - Math.Max(1, Math.Ceiling(DecayAfter)) + 1)),
            "cosine" => MinFactor + (1 - MinFactor) * (1 + Math.Cos(Math.PI * Math.Clamp(runFraction, 0, 1))) / 2,
            _ => 1,
        };
        return step < Warmup ? factor * (step + 1) / Warmup : factor;
    }

    /// <summary>Checks the values; a run checks the cosine's limit (<see cref="RequireLimit"/>) once its limits are set.</summary>
    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new ArgumentException($"unknown learning-rate schedule '{Kind}' (schedules: {string.Join(", ", Kinds)})");
        if (!(Decay > 0 && Decay <= 1)) throw new ArgumentException($"lr_decay must be in (0, 1], got {Decay}");
        if (!(DecayAfter >= 0)) throw new ArgumentException($"lr_decay_after must be ≥ 0, got {DecayAfter}");
        if (Warmup < 0) throw new ArgumentException($"warmup must be ≥ 0 steps, got {Warmup}");
        if (!(MinFactor >= 0 && MinFactor <= 1)) throw new ArgumentException($"min_lr_factor must be in [0, 1], got {MinFactor}");
    }

    /// <summary>Throws <see cref="ArgumentException"/> when the schedule is cosine and the settings give no step, epoch or time limit to anneal towards.</summary>
    public void RequireLimit(TrainingSettings settings)
    {
        if (Kind == "cosine" && settings.MaxSteps == null && settings.MaxEpochs == null && settings.MaxSeconds == null)
            throw new ArgumentException("the cosine schedule needs a limit to anneal towards: give --steps, --epochs or --time");
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("lr_schedule", Kind);
        w.WriteNumber("lr_decay", Decay);
        w.WriteNumber("lr_decay_after", DecayAfter);
        w.WriteNumber("warmup", Warmup);
        w.WriteNumber("min_lr_factor", MinFactor);
    }

    /// <summary>The schedule of a config.json; one written before schedules existed is constant.</summary>
    internal static LearningRateSchedule ReadJson(JsonFields f) => f.Has("lr_schedule")
        ? new(f.String("lr_schedule"), f.Double("lr_decay"), f.Double("lr_decay_after"), f.Long("warmup"), f.Double("min_lr_factor"))
        : new();
}
