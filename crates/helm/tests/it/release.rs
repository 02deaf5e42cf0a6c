//! Release records: encode, decode, and interoperate with the Helm SDK against testenv.
