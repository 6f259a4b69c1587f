// A minimal OpenTelemetry Collector for alog's OTLP tests: the OTLP receiver and the file
// exporter, nothing else, and no telemetry of its own (the standard telemetry brings in every
// cloud's resource detectors). scripts/test-otlp.sh builds it.
package main

import (
	"context"
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
)

// telemetryConfig takes the service::telemetry section the collector distributions accept
// (metrics and logs levels) so that the same configuration runs here; this collector has no
// metrics or traces of its own, and logs warnings and errors to stderr.
type telemetryConfig struct {
	Metrics struct {
		Level string `mapstructure:"level"`
	} `mapstructure:"metrics"`
	Logs struct {
		Level string `mapstructure:"level"`
	} `mapstructure:"logs"`
}

func createLogger(_ context.Context, set telemetry.LoggerSettings, _ component.Config) (*zap.Logger, component.ShutdownFunc, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	build := cfg.Build
	if set.BuildZapLogger != nil {
		build = func(opts ...zap.Option) (*zap.Logger, error) { return set.BuildZapLogger(cfg, opts...) }
	}
	logger, err := build()
	return logger, nil, err
}

func components() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory()); err != nil {
		return f, err
	}
	f.Telemetry = telemetry.NewFactory(
		func() component.Config { return &telemetryConfig{} },
		telemetry.WithCreateLogger(createLogger),
	)
	return f, nil
}

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "alog-otelcol",
			Description: "OTLP receiver and file exporter for alog's tests",
			Version:     "0.161.0",
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
				DefaultScheme:     "file",
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
